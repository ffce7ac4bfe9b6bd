# SPDX-License-Identifier: Apache-2.0
# tests/tools/expect_error.cmake: runs CMD (arguments separated by '|') and passes when it exits
# with status EXIT and its output (stdout and stderr) matches the regular expression EXPECT.
# CTest's PASS_REGULAR_EXPRESSION alone ignores the exit status; a bad input must give both the
# message and a failing status.
#   cmake -DCMD=tool|--flag|value -DEXPECT=regex -DEXIT=1 -P expect_error.cmake
string(REPLACE "|" ";" _cmd "${CMD}")
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
set(_all "${_out}${_err}")
if(NOT "${_rc}" STREQUAL "${EXIT}")
  message(FATAL_ERROR "exit status ${_rc}, expected ${EXIT}; output:\n${_all}")
endif()
if(NOT _all MATCHES "${EXPECT}")
  message(FATAL_ERROR "output does not match '${EXPECT}':\n${_all}")
endif()
message(STATUS "exit ${_rc}: ${_all}")
