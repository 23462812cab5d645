# Dovecot ships no pkg-config file: read the shell-style dovecot-config it installs.
set(DOVECOT_CONFIG "/usr/lib/dovecot/dovecot-config" CACHE FILEPATH "Path to Dovecot's dovecot-config")
if(NOT EXISTS "${DOVECOT_CONFIG}")
  message(FATAL_ERROR "dovecot-config not found at ${DOVECOT_CONFIG}: install dovecot-dev "
                      "(apt-get install dovecot-dev) or pass -DDOVECOT_CONFIG=/path/to/dovecot-config, "
                      "or configure with -DMIGRATE_WITH_DOVECOT=OFF to build only the core")
endif()
file(STRINGS "${DOVECOT_CONFIG}" _dc_lines)
foreach(_l IN LISTS _dc_lines)
  if(_l MATCHES "^([A-Za-z_]+)=['\"]?([^'\"]*)['\"]?$")
    set(DC_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  endif()
endforeach()
foreach(_v dovecot_pkgincludedir dovecot_pkglibdir dovecot_moduledir)
  if(NOT DC_${_v})
    message(FATAL_ERROR "${DOVECOT_CONFIG} does not set ${_v}")
  endif()
endforeach()
set(DOVECOT_MODULEDIR "${DC_dovecot_moduledir}" CACHE PATH "Dovecot mail plugin directory")
set(DOVECOT_DOVEADM_MODULEDIR "${DC_dovecot_moduledir}/doveadm" CACHE PATH "doveadm module directory")
set(DOVECOT_PKGLIBDIR "${DC_dovecot_pkglibdir}")
message(STATUS "Dovecot headers: ${DC_dovecot_pkgincludedir}, modules: ${DOVECOT_MODULEDIR}")

# Header-only interface target for code that includes Dovecot headers (adapters only).
add_library(dovecot_headers INTERFACE)
target_include_directories(dovecot_headers SYSTEM INTERFACE "${DC_dovecot_pkgincludedir}")
target_compile_definitions(dovecot_headers INTERFACE HAVE_CONFIG_H)
