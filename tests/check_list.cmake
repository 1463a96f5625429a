# Checks that `PROG --list` names exactly the tests EXPECTED (comma-separated, in
# order): the RUN(name) lines tests/CMakeLists.txt found in the source and
# registered as ctest entries. Run by ctest as <program>.list.
execute_process(COMMAND ${PROG} --list RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} --list exited with ${rc}: ${err}")
endif()
string(STRIP "${out}" out)
string(REPLACE "\n" "," listed "${out}")
if(NOT listed STREQUAL EXPECTED)
  message(FATAL_ERROR "${PROG} --list does not match the RUN(name) lines that ctest "
          "registered (re-run cmake; write each test as one `RUN(name);` line):\n"
          "  --list:     ${listed}\n  registered: ${EXPECTED}")
endif()
