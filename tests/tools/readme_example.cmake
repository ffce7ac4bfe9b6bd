# SPDX-License-Identifier: Apache-2.0
# tests/tools/readme_example.cmake: the README's first C++ block is examples/fast_path.cpp without
# its two header comment lines, character for character, so the example the tests build and run
# is the one a newcomer reads.  cmake -DREADME=… -DEXAMPLE=… -P readme_example.cmake
file(READ "${README}" _readme)
file(READ "${EXAMPLE}" _example)
string(FIND "${_readme}" "```cpp\n" _start)
if(_start EQUAL -1)
  message(FATAL_ERROR "README has no ```cpp block")
endif()
math(EXPR _start "${_start} + 7")
string(SUBSTRING "${_readme}" ${_start} -1 _rest)
string(FIND "${_rest}" "```" _end)
string(SUBSTRING "${_rest}" 0 ${_end} _block)
# Drop the example's SPDX line and its one-line description.
string(FIND "${_example}" "\n" _l1)
math(EXPR _l1 "${_l1} + 1")
string(SUBSTRING "${_example}" ${_l1} -1 _example)
string(FIND "${_example}" "\n" _l2)
math(EXPR _l2 "${_l2} + 1")
string(SUBSTRING "${_example}" ${_l2} -1 _example)
if(NOT _block STREQUAL _example)
  message(FATAL_ERROR "README's first C++ block differs from ${EXAMPLE}:\n--- README\n${_block}--- example\n${_example}")
endif()
message(STATUS "README's example is ${EXAMPLE}")
