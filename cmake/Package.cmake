# `cpack` (or `cmake --build build --target package`): a .deb for the Debian release and Dovecot
# this tree was configured against, e.g. dovecot-migrate_0.1.0-1~bookworm_amd64.deb.
#
# It depends on the module ABI that release's dovecot-core provides (dovecot-abi-2.3.abiv19 on
# Debian 12, dovecot-abi-2.4.abiv1 on Debian 13): Dovecot refuses to load modules built for
# another ABI, so apt must refuse a Dovecot upgrade that changes it rather than break doveadm.

# "2.3.ABIv19(2.3.19.1)" -> "2.3.abiv19"
string(REGEX REPLACE "\\(.*\\)$" "" _abi "${DOVECOT_ABI_VERSION}")
string(TOLOWER "${_abi}" _abi)
set(MIGRATE_DOVECOT_ABI_PACKAGE "dovecot-abi-${_abi}")

execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE _arch
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(_codename "")
if(EXISTS /etc/os-release)
  file(STRINGS /etc/os-release _codename_line REGEX "^VERSION_CODENAME=")
  string(REGEX REPLACE "^VERSION_CODENAME=\"?([^\"]*)\"?$" "\\1" _codename "${_codename_line}")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dovecot-migrate)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "dovecot-migrate maintainers <postmaster@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "doveadm migrate: pull users' mail from a remote IMAP server into Dovecot")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "A doveadm command (migrate, migrate batch/check/status/stop) and a mail plugin (migration on\n first login) that copy every folder with its flags, keywords and dates from another IMAP\n server into the local Dovecot storage, incrementally and resumably.")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${_arch}")
set(CPACK_DEBIAN_PACKAGE_RELEASE "1")
if(_codename)
  set(CPACK_DEBIAN_PACKAGE_RELEASE "1~${_codename}")
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# libc, libstdc++, libssl, zlib from the binaries; Dovecot by its module ABI.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
configure_file(${CMAKE_CURRENT_LIST_DIR}/PackageProject.cmake.in ${CMAKE_BINARY_DIR}/PackageProject.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/PackageProject.cmake)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "dovecot-core, ${MIGRATE_DOVECOT_ABI_PACKAGE}")
# dovecot-sieve: the Sieve module (lib96_doveadm_migrate_sieve_plugin.so) stores the old server's
# scripts with it; without it doveadm skips that module and `doveadm migrate` skips Sieve.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "dovecot-imapd, dovecot-pop3d, dovecot-sieve")
# Every path is absolute (Dovecot's module and man directories) or under /usr.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
message(STATUS "Package: ${CPACK_PACKAGE_NAME} ${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}, "
               "depends on ${MIGRATE_DOVECOT_ABI_PACKAGE}")
include(CPack)
