# The flags of the debug build the tests run (deploy/test.sh) and the test packages link (build-deb.sh --debug): the
# same in both, so that the package build only relinks. No index store (nothing here reads it) and line tables only
# for debug information (backtraces keep file and line): each saves build time on a two-core machine.
swift_debug_flags=(--disable-index-store -Xswiftc -gline-tables-only)
