# nde's link dependencies: CBLAS from OpenBLAS and LAPACKE (Debian: libopenblas-dev,
# liblapacke-dev), as the imported targets nde::lapacke and nde::openblas.
# Included by the build and, installed beside ndeConfig.cmake, by find_package(nde):
# a static libnde passes both on to whatever links it. On return
# NDE_DEPENDENCIES_MISSING is empty, or says what is missing and how to install it.
# POSIX threads (the SDE ensembles): in glibc's libc since 2.34, -pthread elsewhere
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_library(NDE_LAPACKE_LIBRARY NAMES lapacke)
find_library(NDE_OPENBLAS_LIBRARY NAMES openblas)
set(NDE_DEPENDENCIES_MISSING "")
foreach(_nde_v NDE_LAPACKE_LIBRARY NDE_OPENBLAS_LIBRARY ${NDE_DEPENDENCY_HEADERS})
  if(NOT ${_nde_v})
    list(APPEND NDE_DEPENDENCIES_MISSING ${_nde_v})
  endif()
endforeach()
if(NDE_DEPENDENCIES_MISSING)
  string(REPLACE ";" ", " _nde_m "${NDE_DEPENDENCIES_MISSING}")
  string(CONCAT NDE_DEPENDENCIES_MISSING
    "nde needs CBLAS (OpenBLAS) and LAPACKE; not found: ${_nde_m}. On Debian or "
    "Ubuntu install the packages libopenblas-dev and liblapacke-dev (scripts/install-deps.sh "
    "build does), or add their prefix to CMAKE_PREFIX_PATH.")
  return()
endif()
foreach(_nde_dep lapacke openblas)
  string(TOUPPER ${_nde_dep} _nde_up)
  if(NOT TARGET nde::${_nde_dep})
    add_library(nde::${_nde_dep} UNKNOWN IMPORTED)
    set_target_properties(nde::${_nde_dep} PROPERTIES IMPORTED_LOCATION "${NDE_${_nde_up}_LIBRARY}")
  endif()
endforeach()
# LAPACKE calls LAPACK, which OpenBLAS provides
set_property(TARGET nde::lapacke APPEND PROPERTY INTERFACE_LINK_LIBRARIES nde::openblas)
