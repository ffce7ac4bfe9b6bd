# SPDX-License-Identifier: Apache-2.0
# Debian 12's xsimd 8.1.0 exports `xsimd` with INTERFACE_LINK_LIBRARIES "xtl" but never finds xtl,
# so linking fails with "-lxtl" (xsimd #869, fixed in 11.0). lowbit never defines
# XSIMD_ENABLE_XTL_COMPLEX, so an empty stand-in target is enough when xtl-dev is absent.
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_lowbit_xsimd_libs xsimd INTERFACE_LINK_LIBRARIES)
  if(_lowbit_xsimd_libs MATCHES "(^|;)xtl(;|$)")
    find_package(xtl QUIET CONFIG)
    if(NOT TARGET xtl)
      add_library(xtl INTERFACE IMPORTED)
    endif()
  endif()
  unset(_lowbit_xsimd_libs)
endif()
