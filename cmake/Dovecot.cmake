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

# The Dovecot version and module ABI the headers are for (config.h): 2.3 and 2.4 differ in their
# settings (2.4 needs a settings module) and in the adapter's calls (dovecot_adapter/ only).
file(STRINGS "${DC_dovecot_pkgincludedir}/config.h" _dc_version_lines
     REGEX "^#define DOVECOT_(VERSION_MAJOR|VERSION_MINOR|ABI_VERSION|VERSION) ")
foreach(_l IN LISTS _dc_version_lines)
  if(_l MATCHES "^#define DOVECOT_([A-Z_]+) \"?([^\"]*)\"?$")
    set(DOVECOT_${CMAKE_MATCH_1}_FROM_HEADERS "${CMAKE_MATCH_2}")
  endif()
endforeach()
set(DOVECOT_VERSION "${DOVECOT_VERSION_FROM_HEADERS}")
set(DOVECOT_ABI_VERSION "${DOVECOT_ABI_VERSION_FROM_HEADERS}")
if(DOVECOT_VERSION_MAJOR_FROM_HEADERS EQUAL 2 AND DOVECOT_VERSION_MINOR_FROM_HEADERS GREATER_EQUAL 4)
  set(DOVECOT_24 ON)
elseif(DOVECOT_VERSION_MAJOR_FROM_HEADERS EQUAL 2 AND DOVECOT_VERSION_MINOR_FROM_HEADERS EQUAL 3)
  set(DOVECOT_24 OFF)
else()
  message(FATAL_ERROR "Dovecot ${DOVECOT_VERSION} (${DC_dovecot_pkgincludedir}/config.h): "
                      "dovecot-migrate builds against Dovecot 2.3 or 2.4")
endif()
set(DOVECOT_SETTINGS_MODULEDIR "${DC_dovecot_moduledir}/settings" CACHE PATH
    "Modules the Dovecot 2.4 config process loads to learn plugin settings")
message(STATUS "Dovecot ${DOVECOT_VERSION}, module ABI ${DOVECOT_ABI_VERSION}")
