# SPDX-License-Identifier: Apache-2.0
# LowbitIsa.cmake: ISA flags for targets that use lowbit, and the host's ISA list.
#
# lowbit never puts -m/-march flags on its INTERFACE target: the ISA is the consumer's choice.
#   lowbit_target_isa(<target> native|avx512|avx2|sse4_2|neon|scalar)
# adds PRIVATE flags to <target>; `scalar` defines LOWBIT_FORCE_SCALAR so that isa::best is the
# scalar reference path even when the compiler could vectorize.
include_guard(GLOBAL)

function(lowbit_target_isa target isa)
  if(isa STREQUAL "native")
    target_compile_options(${target} PRIVATE -march=native)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND "avx512f" IN_LIST LOWBIT_HOST_ISAS)
      # GCC 12's own avx512fintrin.h raises false -W(maybe-)uninitialized warnings when Eigen or
      # xsimd inline its intrinsics (DEPS.md §2c); they point into GCC's header, not our code.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-uninitialized)
    endif()
  elseif(isa STREQUAL "avx512")
    # x86-64-v4 = F/CD/DQ/BW/VL; VNNI on top (xsimd 8.1 needs all of F/CD/DQ/BW for batch<int8_t>).
    target_compile_options(${target} PRIVATE -march=x86-64-v4 -mavx512vnni -mf16c -mfma)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC 12's own avx512fintrin.h raises false -W(maybe-)uninitialized warnings (DEPS.md §2c).
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-uninitialized)
    endif()
  elseif(isa STREQUAL "avx2")
    target_compile_options(${target} PRIVATE -march=x86-64-v3)
  elseif(isa STREQUAL "sse4_2")
    target_compile_options(${target} PRIVATE -march=x86-64-v2)
  elseif(isa STREQUAL "neon")
    target_compile_options(${target} PRIVATE -march=armv8.2-a+dotprod)
  elseif(isa STREQUAL "scalar")
    target_compile_definitions(${target} PRIVATE LOWBIT_FORCE_SCALAR=1)
  else()
    message(FATAL_ERROR "lowbit_target_isa: unknown ISA '${isa}'")
  endif()
endfunction()

# LOWBIT_HOST_ISAS: the ISA features this build host can run (read from /proc/cpuinfo), so that
# test binaries for ISAs the host lacks are built but not registered with CTest.
if(NOT DEFINED LOWBIT_HOST_ISAS AND EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo _lowbit_flags REGEX "^flags" LIMIT_COUNT 1)
  set(LOWBIT_HOST_ISAS "")
  foreach(f sse4_2 avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni avx_vnni avx512_bf16
            avx512_fp16 avx512_vpopcntdq amx_int8)
    if(_lowbit_flags MATCHES "[ \t]${f}( |$)")
      list(APPEND LOWBIT_HOST_ISAS ${f})
    endif()
  endforeach()
  unset(_lowbit_flags)
endif()

# lowbit_add_dispatch_library(<name> ISAS <isa>... SOURCES <file>...)
# Opt-in runtime dispatch (lowbit/dispatch/entry.hpp): compiles SOURCES once per ISA
# (scalar = the baseline flags, sse4_2, avx2, avx512bw, neon64) with that ISA's flags and
# -DLOWBIT_DISPATCH_ISA=lowbit::isa::<isa>, into the static library <name>, whose users get
# LOWBIT_DISPATCH_WITH_<ISA>=1 for each compiled ISA (dispatch::gemm then picks at run time).
# Objects are listed from the least capable ISA up, so the linker keeps the baseline copy of
# helpers every TU emits (see the caveat in entry.hpp).
function(lowbit_add_dispatch_library name)
  cmake_parse_arguments(A "" "" "ISAS;SOURCES" ${ARGN})
  if(NOT A_ISAS OR NOT A_SOURCES)
    message(FATAL_ERROR "lowbit_add_dispatch_library(${name}): needs ISAS and SOURCES")
  endif()
  add_library(${name} STATIC)
  set_target_properties(${name} PROPERTIES LINKER_LANGUAGE CXX)
  foreach(isa IN ITEMS scalar sse4_2 avx2 avx512bw neon64)
    if(NOT isa IN_LIST A_ISAS)
      continue()
    endif()
    set(obj ${name}_${isa})
    add_library(${obj} OBJECT ${A_SOURCES})
    target_link_libraries(${obj} PRIVATE lowbit::lowbit)
    if(TARGET lowbit_warnings)
      target_link_libraries(${obj} PRIVATE lowbit_warnings)
    endif()
    if(isa STREQUAL "avx512bw")
      lowbit_target_isa(${obj} avx512)
    elseif(isa STREQUAL "neon64")
      lowbit_target_isa(${obj} neon)
    elseif(NOT isa STREQUAL "scalar")
      lowbit_target_isa(${obj} ${isa})
    endif()
    target_compile_definitions(${obj} PRIVATE LOWBIT_DISPATCH_ISA=lowbit::isa::${isa})
    target_sources(${name} PRIVATE $<TARGET_OBJECTS:${obj}>)
    string(TOUPPER ${isa} _up)
    target_compile_definitions(${name} PUBLIC LOWBIT_DISPATCH_WITH_${_up}=1)
  endforeach()
  target_link_libraries(${name} PUBLIC lowbit::lowbit)
endfunction()
