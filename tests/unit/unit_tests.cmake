# CSV reader/writer, the CSV sample loader and the diff statistics. They link
# waitprof_core (pure user-space code; nothing here loads BPF).
foreach(t csv diff_stats)
	add_executable(test_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c)
	target_include_directories(test_${t} PRIVATE ${CMAKE_SOURCE_DIR}/tests/analysis)
	target_link_libraries(test_${t} PRIVATE waitprof_core m)
	add_test(NAME unit_${t} COMMAND test_${t})
endforeach()
