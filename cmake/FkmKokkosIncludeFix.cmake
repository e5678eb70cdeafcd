# Debian 12's Kokkos 3.4 (libtrilinos-kokkos-dev, a TriBITS export) gives Kokkos::kokkos an
# include directory computed from a symlinked install path that does not exist, which CMake
# rejects when a target links it. Kokkos_INCLUDE_DIRS reaches the real headers through the
# symlink: resolve it and put it on the target. Used after find_package(Kokkos) by
# backends/kokkos and by the installed fkmConfig.cmake. Kokkos 4.x exports are left alone.
if(TARGET Kokkos::kokkos AND Kokkos_VERSION VERSION_LESS 4.0 AND Kokkos_INCLUDE_DIRS)
  set(_fkm_kokkos_includes "")
  foreach(_fkm_dir IN LISTS Kokkos_INCLUDE_DIRS)
    get_filename_component(_fkm_real "${_fkm_dir}" REALPATH)
    list(APPEND _fkm_kokkos_includes "${_fkm_real}")
  endforeach()
  set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fkm_kokkos_includes}")
  unset(_fkm_kokkos_includes)
endif()
