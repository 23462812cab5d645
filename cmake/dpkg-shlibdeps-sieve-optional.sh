#!/bin/sh
# dpkg-shlibdeps for the package (cmake/Package.cmake): the Sieve module links libdovecot-sieve,
# but the package must not depend on dovecot-sieve: without it doveadm skips that one module and
# `doveadm migrate` reports Sieve as skipped (dovecot-sieve is suggested instead).
exec dpkg-shlibdeps -xdovecot-sieve "$@"
