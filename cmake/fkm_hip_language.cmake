# Makes CMake's HIP language work with Debian's ROCm packages (hipcc, libamdhip64-dev,
# rocm-device-libs; see DESIGN.md §7), then enables it. Included from the top level before the
# HIP backend is added.
#
# Debian puts HIP under /usr, not under a ROCm root, so CMake's HIP support is given one made
# in the build tree:
#   <build>/rocm-root/lib/cmake/hip-lang/hip-lang-config.cmake
#       the runtime targets CMake links HIP code with (libamdhip64). Written here rather than
#       taken from Debian, whose copy puts /usr/include on the -isystem path and so breaks the
#       #include_next of libstdc++'s <cmath>.
#   <build>/rocm-root/amdgcn/bitcode/
#       the AMD device libraries (links to Debian's). ROCm 5.2 predates gfx942 (MI300) and
#       ships no oclc_isa_version_942.bc; gfx942 runs the gfx940 ISA (MI300 is the gfx940
#       family), so the gfx940 library, which only sets the ISA-version constant read by the
#       math library, stands in for it. clang-15 does not know gfx942: it needs clang >= 17
#       (Debian: clang-19, with clang-tools-19 for the offload bundler and lld-19).
#
# Cache variables:
#   FKM_HIP_ARCHITECTURES  AMD GPUs to build for (default gfx90a = MI200, gfx942 = MI300)
#   CMAKE_HIP_COMPILER     default clang++-19 when found (needed for gfx942), else clang++-15

set(FKM_HIP_ARCHITECTURES "gfx90a;gfx942" CACHE STRING "AMD GPU architectures of the HIP backend")
set(CMAKE_HIP_ARCHITECTURES "${FKM_HIP_ARCHITECTURES}" CACHE STRING "" FORCE)

if(NOT CMAKE_HIP_COMPILER AND NOT DEFINED ENV{HIPCXX})
  find_program(FKM_HIP_CLANG NAMES clang++-19 clang++-18 clang++-17 clang++-15 clang++
               DOC "clang used as the HIP compiler")
  if(NOT FKM_HIP_CLANG)
    message(FATAL_ERROR "FKM_ENABLE_HIP: no clang++ found (Debian: apt-get install clang-19 lld-19 clang-tools-19 hipcc)")
  endif()
  set(CMAKE_HIP_COMPILER "${FKM_HIP_CLANG}" CACHE FILEPATH "HIP compiler")
endif()

find_library(FKM_AMDHIP64 amdhip64 DOC "the HIP runtime (Debian: libamdhip64-dev)")
find_path(FKM_HIP_INCLUDE hip/hip_runtime.h DOC "HIP headers (Debian: libamdhip64-dev)")
find_path(FKM_ROCPRIM_INCLUDE rocprim/rocprim.hpp DOC "rocPRIM headers (Debian: librocprim-dev)")
find_path(FKM_AMDGCN_BITCODE ocml.bc
          PATHS /usr/lib/x86_64-linux-gnu/amdgcn/bitcode /usr/lib/amdgcn/bitcode /opt/rocm/amdgcn/bitcode
          DOC "AMD device libraries (Debian: rocm-device-libs)")
foreach(what FKM_AMDHIP64 FKM_HIP_INCLUDE FKM_ROCPRIM_INCLUDE FKM_AMDGCN_BITCODE)
  if(NOT ${what})
    message(FATAL_ERROR "FKM_ENABLE_HIP: ${what} not found (Debian: apt-get install hipcc librocprim-dev)")
  endif()
endforeach()

set(_fkm_rocm_root "${PROJECT_BINARY_DIR}/rocm-root")
set(_fkm_bitcode "${_fkm_rocm_root}/amdgcn/bitcode")
file(MAKE_DIRECTORY "${_fkm_rocm_root}/lib/cmake/hip-lang" "${_fkm_bitcode}")
file(GLOB _fkm_bc "${FKM_AMDGCN_BITCODE}/*.bc")
foreach(bc IN LISTS _fkm_bc)
  get_filename_component(name "${bc}" NAME)
  file(CREATE_LINK "${bc}" "${_fkm_bitcode}/${name}" SYMBOLIC)
endforeach()
if("gfx942" IN_LIST FKM_HIP_ARCHITECTURES AND NOT EXISTS "${FKM_AMDGCN_BITCODE}/oclc_isa_version_942.bc")
  file(CREATE_LINK "${FKM_AMDGCN_BITCODE}/oclc_isa_version_940.bc" "${_fkm_bitcode}/oclc_isa_version_942.bc" SYMBOLIC)
endif()
file(WRITE "${_fkm_rocm_root}/lib/cmake/hip-lang/hip-lang-config.cmake" "\
# Written by fkm's cmake/fkm_hip_language.cmake: the HIP runtime for CMake's HIP language.
if(NOT TARGET hip-lang::device)
  add_library(hip-lang::amdhip64 SHARED IMPORTED)
  set_target_properties(hip-lang::amdhip64 PROPERTIES IMPORTED_LOCATION \"${FKM_AMDHIP64}\")
  add_library(hip-lang::host INTERFACE IMPORTED)
  set_target_properties(hip-lang::host PROPERTIES INTERFACE_LINK_LIBRARIES hip-lang::amdhip64
    INTERFACE_COMPILE_DEFINITIONS \"$<$<COMPILE_LANGUAGE:HIP>:__HIP_ROCclr__=1>\")
  add_library(hip-lang::device INTERFACE IMPORTED)
  set_target_properties(hip-lang::device PROPERTIES INTERFACE_LINK_LIBRARIES hip-lang::host)
endif()
set(_CMAKE_HIP_DEVICE_RUNTIME_TARGET hip-lang::device)
")
set(CMAKE_HIP_COMPILER_ROCM_ROOT "${_fkm_rocm_root}" CACHE PATH "ROCm-like root made by fkm for CMake's HIP language" FORCE)
# The HIP installation is /usr; the device libraries are the ones above.
set(CMAKE_HIP_FLAGS_INIT "--rocm-path=/usr --rocm-device-lib-path=${_fkm_bitcode}")
enable_language(HIP)
