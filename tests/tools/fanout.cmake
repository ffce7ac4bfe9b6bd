# SPDX-License-Identifier: Apache-2.0
# tests/tools/fanout.cmake: quantizing a model in 4 parts run by GNU parallel, then merging,
# gives the bytes one process gives; a rerun skips finished tensors and redoes a damaged one.
#   cmake -DQ=<lowbit-quantize> -DPARALLEL=<parallel> -DMODEL=<HF dir> -DWORK=<dir> -P fanout.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()
set(policy sym4-g32-clip-rot)  # -rot: each tensor's seed must follow the input order
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
run(${Q} --model ${MODEL} --policy ${policy} --out ${WORK}/one.lowbit)
run(${PARALLEL} --will-cite --halt now,fail=1 ${Q} --model ${MODEL} --policy ${policy} --part {}/4
    --parts-dir ${WORK}/parts ::: 0 1 2 3)
run(${Q} --merge ${WORK}/parts --out ${WORK}/merged.lowbit)
file(SHA256 ${WORK}/one.lowbit one)
file(SHA256 ${WORK}/merged.lowbit merged)
if(NOT one STREQUAL merged)
  message(FATAL_ERROR "4 parts merged differ from one process")
endif()
# Resume: part 1 again does nothing; with one of its files truncated, it redoes that one only.
run(${Q} --model ${MODEL} --policy ${policy} --part 1/4 --parts-dir ${WORK}/parts)
if(NOT out MATCHES "part 1/4: 0 tensors quantized, 0 kept, [1-9][0-9]* already done")
  message(FATAL_ERROR "a rerun did work again:\n${out}")
endif()
file(WRITE ${WORK}/parts/t0000005.lowbit "truncated")  # layer 0's o_proj, part 1's
run(${Q} --model ${MODEL} --policy ${policy} --part 1/4 --parts-dir ${WORK}/parts)
if(NOT out MATCHES "part 1/4: 1 tensors quantized, 0 kept, [1-9][0-9]* already done")
  message(FATAL_ERROR "a damaged tensor file was not redone:\n${out}")
endif()
run(${Q} --merge ${WORK}/parts --out ${WORK}/merged2.lowbit)
file(SHA256 ${WORK}/merged2.lowbit merged2)
if(NOT one STREQUAL merged2)
  message(FATAL_ERROR "the resumed parts merged differ from one process")
endif()
# Parts of another run refuse to mix; a merge with a tensor missing names it.
execute_process(COMMAND ${Q} --model ${MODEL} --policy sym8-g32 --part 0/4 --parts-dir ${WORK}/parts
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "describes another run")
  message(FATAL_ERROR "parts of another policy were accepted (${rc}): ${err}")
endif()
file(REMOVE ${WORK}/parts/t0000002.lowbit)
execute_process(COMMAND ${Q} --merge ${WORK}/parts --out ${WORK}/bad.lowbit
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "1 of 21 tensors are not done yet \\(first: '.*t0000002.lowbit'\\)")
  message(FATAL_ERROR "a merge with a tensor missing did not say so (${rc}): ${err}")
endif()
message(STATUS "fan-out: 4 parts + merge = one process, byte for byte; resume redoes only the damaged tensor")
