# Every header compiles on its own: one generated source per header that includes just that
# header, built as an object library (a header that needs another one included first fails the
# build). Core headers without Dovecot; the others with Dovecot's headers, as their users have them.
function(migrate_header_check name)
  cmake_parse_arguments(HC "" "" "HEADERS;LIBS" ${ARGN})
  set(_sources)
  foreach(_h IN LISTS HC_HEADERS)
    file(RELATIVE_PATH _rel "${PROJECT_SOURCE_DIR}" "${_h}")
    string(MAKE_C_IDENTIFIER "${_rel}" _id)
    set(_src "${CMAKE_CURRENT_BINARY_DIR}/header_check/${_id}.cpp")
    file(CONFIGURE OUTPUT "${_src}" CONTENT "#include \"${_h}\"\n")
    list(APPEND _sources "${_src}")
  endforeach()
  add_library(${name} OBJECT ${_sources})
  target_compile_options(${name} PRIVATE ${MIGRATE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${HC_LIBS})
endfunction()
