// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include "report_export.h"

int report_html(FILE *out, const struct recording *rec, const struct report_opts *o,
		enum export_view view)
{
	(void)out; (void)rec; (void)o; (void)view;
	return -ENOSYS;
}
