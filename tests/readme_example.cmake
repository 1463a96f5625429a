# Extracts the C example from README.md (the ```c block after "<!-- example -->"),
# installs nde into a scratch prefix and builds + runs the example exactly as an
# outside program would: cc prog.c $(pkg-config --cflags --libs nde), and once more
# against a static-only copy of the install with pkg-config --static.
set(prefix ${BIN}/readme-install)
file(REMOVE_RECURSE ${prefix})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BIN} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
file(READ ${SRC}/README.md readme)
string(FIND "${readme}" "<!-- example -->" at)
if(at LESS 0)
  message(FATAL_ERROR "README.md has no <!-- example --> marker")
endif()
string(SUBSTRING "${readme}" ${at} -1 rest)
string(FIND "${rest}" "```c\n" open)
math(EXPR open "${open} + 5")
string(SUBSTRING "${rest}" ${open} -1 rest)
string(FIND "${rest}" "```" close)
string(SUBSTRING "${rest}" 0 ${close} code)
file(WRITE ${BIN}/readme_example.c "${code}")
file(GLOB pcdir ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
get_filename_component(libdir ${pcdir} DIRECTORY)

# Shared: cc prog.c $(pkg-config --cflags --libs nde). nde.pc sets no rpath, so the
# program finds libnde.so through LD_LIBRARY_PATH, as with any library outside the
# loader's path.
set(ENV{PKG_CONFIG_PATH} "${pcdir}")
execute_process(COMMAND sh -c "${CC} ${BIN}/readme_example.c -o ${BIN}/readme_example $(pkg-config --cflags --libs nde) -lm"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "README example failed to compile against the installed nde (PKG_CONFIG_PATH=${pcdir})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${BIN}/readme_example
                RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "README example exited with ${rc}")
endif()

# Static: the same install without the shared library, linked with
# cc prog.c $(pkg-config --static --cflags --libs nde), the whole archive, so that every
# object's dependencies (LAPACKE, OpenBLAS, libm) must come from nde.pc's Libs.private.
set(sprefix ${BIN}/readme-install-static)
file(REMOVE_RECURSE ${sprefix})
file(COPY ${prefix}/ DESTINATION ${sprefix})
string(REPLACE "${prefix}" "${sprefix}" spcdir "${pcdir}")
string(REPLACE "${prefix}" "${sprefix}" slibdir "${libdir}")
file(GLOB shared_libs ${slibdir}/libnde.so*)
file(REMOVE ${shared_libs})
set(ENV{PKG_CONFIG_PATH} "${spcdir}")
execute_process(COMMAND sh -c "${CC} ${BIN}/readme_example.c -o ${BIN}/readme_example_static -Wl,--whole-archive $(pkg-config --static --cflags --libs nde) -Wl,--no-whole-archive"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "README example failed to link statically against the installed nde (PKG_CONFIG_PATH=${spcdir})")
endif()
execute_process(COMMAND ${BIN}/readme_example_static RESULT_VARIABLE rc OUTPUT_VARIABLE out2)
if(NOT rc EQUAL 0 OR NOT out2 STREQUAL out)
  message(FATAL_ERROR "statically linked README example exited with ${rc} or printed other output:\n${out2}")
endif()
