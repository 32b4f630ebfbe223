# Man pages for the three programs, made at build time by help2man from their
# own --help and --version, so a page never differs from the program it
# describes. help2man is a build dependency (tools/deps.sh); configure with
# -DAGENTLB_MAN_PAGES=OFF to build without it (and without the pages).
#
# Output: BUILD/man/agentlbctl.1.gz, agentlb-mgmt.8.gz, agentlb-agent.8.gz
# (gzip -n: the same bytes on every build, as Debian wants man pages).
option(AGENTLB_MAN_PAGES "generate and install man pages with help2man" ON)
if(NOT AGENTLB_MAN_PAGES)
    return()
endif()
find_program(AGENTLB_HELP2MAN help2man)
find_program(AGENTLB_GZIP gzip)
if(NOT AGENTLB_HELP2MAN OR NOT AGENTLB_GZIP)
    message(FATAL_ERROR "help2man and gzip are needed for the man pages: apt-get install help2man "
                        "(tools/deps.sh lists it), or configure with -DAGENTLB_MAN_PAGES=OFF")
endif()

set(AGENTLB_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(agentlb_man_pages)
# target;section;what it is (the NAME line)
foreach(
    page
    "agentlbctl;1;operator tool for agentlb: configuration, join tokens, the CA, hosts and servers"
    "agentlb-mgmt;8;agentlb management server: keeps KVM agents balanced over the servers"
    "agentlb-agent;8;agentlb agent: keeps a KVM host connected to one of its management servers")
    list(GET page 0 program)
    list(GET page 1 section)
    list(GET page 2 summary)
    set(include ${CMAKE_CURRENT_SOURCE_DIR}/man/${program}.h2m)
    set(out ${AGENTLB_MAN_DIR}/${program}.${section})
    add_custom_command(
        OUTPUT ${out}.gz
        COMMAND ${CMAKE_COMMAND} -E make_directory ${AGENTLB_MAN_DIR}
        # AGENTLB_DB emptied: a developer's own store never shows in a page.
        COMMAND ${CMAKE_COMMAND} -E env AGENTLB_DB= ${AGENTLB_HELP2MAN} --no-info --no-discard-stderr
                --section=${section} --name=${summary} --include=${include} --output=${out} $<TARGET_FILE:${program}>
        COMMAND ${AGENTLB_GZIP} -9nf ${out}
        DEPENDS ${program} ${include}
        COMMENT "Generating the man page ${program}(${section}) with help2man"
        VERBATIM)
    list(APPEND agentlb_man_pages ${out}.gz)
    install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(agentlb_man_pages ALL DEPENDS ${agentlb_man_pages})
