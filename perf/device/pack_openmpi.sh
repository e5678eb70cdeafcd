#!/bin/bash
# Packs Debian 12's Open MPI 4.1 runtime (libraries, mpirun/orted, the MCA plugins that need
# nothing beyond the packed libraries and glibc >= 2.34, headers) into one relocatable archive,
# for a machine without MPI and without internet (the lent GPU machine). Unpack to DIR, then:
#   export OPAL_PREFIX=DIR PATH=DIR/bin:$PATH LD_LIBRARY_PATH=DIR/lib:$LD_LIBRARY_PATH
# (dist-cuda.sh does this). Usage: pack_openmpi.sh OUT.tar.xz
set -euo pipefail
out=$1
src=/usr/lib/x86_64-linux-gnu
stage=$(mktemp -d)
root=$stage/openmpi
mkdir -p "$root/bin" "$root/lib" "$root/share"
cp -L /usr/bin/orterun /usr/bin/orted /usr/bin/ompi_info "$root/bin/"
ln -s orterun "$root/bin/mpirun"
ln -s orterun "$root/bin/mpiexec"
# The compiler wrappers (opal_wrapper reads share/openmpi/<name>-wrapper-data.txt by its name).
cp -L /usr/bin/opal_wrapper "$root/bin/"
ln -s opal_wrapper "$root/bin/mpicxx"
ln -s opal_wrapper "$root/bin/mpic++"
ln -s opal_wrapper "$root/bin/mpicc"
carried="libmpi.so.40 libmpi_cxx.so.40 libopen-rte.so.40 libopen-pal.so.40 libhwloc.so.15 libevent_core-2.1.so.7
  libevent_pthreads-2.1.so.7 libudev.so.1 libmunge.so.2 libz.so.1"
for l in $carried; do cp -L "$src/$l" "$root/lib/"; done
cp -L "$src/pmix2/lib/libpmix.so.2" "$root/lib/"
# Where the wrappers look (Debian's layout under the prefix): headers, and the link names.
wrapdir=$root/lib/x86_64-linux-gnu/openmpi
mkdir -p "$wrapdir/lib"
cp -rL "$src/openmpi/include" "$wrapdir/include"
for l in libmpi.so.40 libmpi_cxx.so.40 libopen-rte.so.40 libopen-pal.so.40 libhwloc.so.15 libevent_core-2.1.so.7 \
         libevent_pthreads-2.1.so.7 libz.so.1; do
  name=${l%%.so*}
  name=${name%-2.1}  # libevent_core-2.1.so.7: linked as -levent_core
  ln -s "../../../$l" "$wrapdir/lib/$name.so"
  ln -sf "$l" "$root/lib/$name.so"
done
# The plugins: only those whose libraries are all carried or part of glibc / zlib.
plugdir=$root/lib/x86_64-linux-gnu/openmpi/lib/openmpi3
mkdir -p "$plugdir" "$root/lib/pmix"
ok_libs="linux-vdso|/lib64/ld-linux|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread|librt\.so|libz\.so|$(echo $carried libpmix.so.2 | sed 's/ \+/|/g; s/\./\\./g')"
for p in "$src"/openmpi/lib/openmpi3/mca_*.so; do
  if ldd "$p" | awk '{print $1}' | grep -vE "^($ok_libs)" | grep -q .; then continue; fi
  case $(basename "$p") in *romio*|*oshmem*|*spml*|*sshmem*|*scoll*|*memheap*) continue ;; esac
  cp -L "$p" "$plugdir/"
done
cp -L "$src"/pmix2/lib/pmix/*.so "$root/lib/pmix/"
cp -rL /usr/share/openmpi "$root/share/"
mkdir -p "$root/share/pmix" && cp -rL /usr/share/pmix/. "$root/share/pmix/" 2>/dev/null || true
tar -C "$stage" -cJf "$out" openmpi
du -sh "$root" "$out"
ls "$plugdir" | wc -l
rm -rf "$stage"
