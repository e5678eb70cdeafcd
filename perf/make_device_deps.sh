#!/bin/bash
# Assembles, from this machine's Debian packages (catch2, libcli11-dev, nlohmann-json3-dev), a CMake
# prefix with the header-only dependencies the device image lacks. Carry it beside the sources:
#   perf/make_device_deps.sh /work/main/.devsync/deps/prefix
set -eu
P=$1
mkdir -p "$P/include" "$P/lib/cmake" "$P/share/cmake"
cp -r /usr/include/catch2 /usr/include/CLI /usr/include/nlohmann "$P/include/"
cp -r /usr/lib/cmake/Catch2 "$P/lib/cmake/"
cp /usr/lib/libCatch2WithMain.a "$P/lib/"
cp -r /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$P/share/cmake/"
du -sh "$P"
