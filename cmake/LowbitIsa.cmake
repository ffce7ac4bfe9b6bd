# SPDX-License-Identifier: Apache-2.0
# LowbitIsa.cmake: choosing the ISA of a target that uses lowbit, and the host's ISA list.
#
# lowbit::lowbit carries the ISA flags itself (CMakeLists.txt): a target that links it compiles
# with -march=native unless it says otherwise, so the kernels are the best the build machine has.
#   lowbit_target_isa(<target> native|avx512|avx2|sse4_2|neon|scalar|baseline)
# sets <target>'s LOWBIT_ISA property, which lowbit::lowbit's generator expressions read:
#   native    -march=native (the default)
#   avx512    x86-64-v4 + VNNI + F16C + FMA      avx2  x86-64-v3      sse4_2  x86-64-v2
#   neon      armv8.2-a+dotprod
#   scalar    LOWBIT_FORCE_SCALAR: every kernel runs the scalar reference (the oracle)
#   baseline  no flag: the toolchain's own flags decide, on purpose (runtime-dispatch TUs, cross
#             builds); silences the warning kernels/select.hpp gives a TU without AVX2
include_guard(GLOBAL)

set(LOWBIT_ISAS native avx512 avx2 sse4_2 neon scalar baseline)

function(lowbit_target_isa target isa)
  if(NOT isa IN_LIST LOWBIT_ISAS)
    message(FATAL_ERROR "lowbit_target_isa: unknown ISA '${isa}' (one of: ${LOWBIT_ISAS})")
  endif()
  set_target_properties(${target} PROPERTIES LOWBIT_ISA ${isa})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND
     (isa STREQUAL "avx512" OR (isa STREQUAL "native" AND "avx512f" IN_LIST LOWBIT_HOST_ISAS)))
    # GCC 12's own avx512fintrin.h raises false -W(maybe-)uninitialized warnings when Eigen or
    # xsimd inline its intrinsics; they point into GCC's header, not our code. lowbit's own
    # targets only: a consumer's warnings are the consumer's.
    get_target_property(_type ${target} TYPE)
    if(_type STREQUAL "INTERFACE_LIBRARY")
      target_compile_options(${target} INTERFACE -Wno-maybe-uninitialized -Wno-uninitialized)
    else()
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-uninitialized)
    endif()
  endif()
endfunction()

# LOWBIT_HOST_ISAS: the ISA features this build host can run (read from /proc/cpuinfo), so that
# test binaries for ISAs the host lacks are built but not registered with CTest.
if(NOT DEFINED LOWBIT_HOST_ISAS AND EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo _lowbit_flags REGEX "^flags" LIMIT_COUNT 1)
  set(LOWBIT_HOST_ISAS "")
  foreach(f sse4_2 avx2 fma f16c avx512f avx512cd avx512dq avx512bw avx512vl avx512_vnni avx_vnni avx512_bf16
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
    elseif(isa STREQUAL "scalar")
      # The baseline flags on purpose: this object is what a CPU without SSE4.2 runs.
      lowbit_target_isa(${obj} baseline)
    else()
      lowbit_target_isa(${obj} ${isa})
    endif()
    target_compile_definitions(${obj} PRIVATE LOWBIT_DISPATCH_ISA=lowbit::isa::${isa})
    target_sources(${name} PRIVATE $<TARGET_OBJECTS:${obj}>)
    string(TOUPPER ${isa} _up)
    target_compile_definitions(${name} PUBLIC LOWBIT_DISPATCH_WITH_${_up}=1)
  endforeach()
  target_link_libraries(${name} PUBLIC lowbit::lowbit)
endfunction()
