# Installs waitprof like a system tool (`cmake --install build`) and packages
# it as a .deb (`cd build && cpack -G DEB`): the binary, a man page per
# command, bash completion and the docs. Man pages and completion are
# generated from the built binary's --help, so they follow its options.
include(GNUInstallDirs)

set(WAITPROF_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(WAITPROF_COMPLETION ${CMAKE_BINARY_DIR}/completion/waitprof)

# help2man is a Debian package (scripts/deps/install.txt). Without it the
# build still works; only the man pages are left out, and said so.
find_program(HELP2MAN help2man)
if(HELP2MAN)
	add_custom_command(OUTPUT ${WAITPROF_MAN_DIR}/waitprof.1.gz
		COMMAND ${CMAKE_SOURCE_DIR}/dist/man.sh $<TARGET_FILE:waitprof>
			${WAITPROF_MAN_DIR} ${PROJECT_VERSION}
		DEPENDS waitprof ${CMAKE_SOURCE_DIR}/dist/man.sh
		COMMENT "Generating man pages from waitprof --help")
	add_custom_target(waitprof_man ALL DEPENDS ${WAITPROF_MAN_DIR}/waitprof.1.gz)
	# The whole directory: one page per command that --help lists.
	install(DIRECTORY ${WAITPROF_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
		FILES_MATCHING PATTERN "*.1.gz")
else()
	message(WARNING "help2man not found: no man pages (scripts/install-deps.sh installs it)")
endif()

add_custom_command(OUTPUT ${WAITPROF_COMPLETION}
	COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/completion
	COMMAND ${CMAKE_SOURCE_DIR}/dist/completion.sh $<TARGET_FILE:waitprof>
		> ${WAITPROF_COMPLETION}
	DEPENDS waitprof ${CMAKE_SOURCE_DIR}/dist/completion.sh
	COMMENT "Generating bash completion from waitprof --help")
add_custom_target(waitprof_completion ALL DEPENDS ${WAITPROF_COMPLETION})

install(TARGETS waitprof RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${WAITPROF_COMPLETION}
	DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions)
# The docs the help texts and man pages point to (docs/LOCKS.md and so on).
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")

# The .deb. Depends is computed by dpkg-shlibdeps (dpkg-dev) from what the
# binary links: libbpf1, libelf1, libdw1, libdebuginfod1, zlib1g, libstdc++6,
# libmicrohttpd12, libc6 on Debian 12. tests/install checks them against the binary's NEEDED.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME waitprof)
set(CPACK_PACKAGE_VENDOR waitprof)
set(CPACK_PACKAGE_CONTACT "waitprof <dev@waitprof>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "off-CPU time and lock contention analyzer (eBPF)")
set(CPACK_PACKAGE_DESCRIPTION "waitprof records where threads wait: off-CPU time with whole user and kernel
stacks, lock contention with waiters and holders, and function latency,
aggregated in the kernel with eBPF. Reports say when a latency is bimodal,
and render flame graphs, pprof, speedscope and JSON. Needs a kernel with BTF.")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)	# waitprof_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Debian ships binaries stripped; the debug info stays in the build tree.
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
