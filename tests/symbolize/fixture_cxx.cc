// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* C++ names for the demangling test: a namespace, a class template. */
#include <cstdio>

namespace waitprof_ns {
template <typename T> struct Widget {
	T value;
	__attribute__((noinline)) T spin(T n);
};

template <typename T> T Widget<T>::spin(T n)
{
	for (T i = 0; i < n; i++)
		value += i;
	return value;
}
} // namespace waitprof_ns

int main(int argc, char **)
{
	waitprof_ns::Widget<int> w{ argc };

	std::printf("%d\n", w.spin(argc));
	return 0;
}
