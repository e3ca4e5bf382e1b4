// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CSV writer and reader round trips, malformed input, the sample loader,
 * and analyze's verdicts against modality_analyze_samples on the same data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csv_read.h"
#include "csv_samples.h"
#include "csv_write.h"
#include "modality.h"
#include "sample_gen.h"

int test_failures;

static const char *const hostile[] = {
	"plain", "a,b", "say \"hi\"", "\"", "\"\"", "line1\nline2", "cr\r\nlf", " lead",
	"trail ", "", "semi;colon", "2.0 \xc2\xb5s", "tab\there", ",", "\r", "x\n", NULL,
};

static void test_round_trip(void)
{
	char big[10000];
	struct csv_writer w;
	struct csv_reader r;
	FILE *f = tmpfile();
	size_t i, n = 0;
	int ret;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	csv_writer_init(&w, f);
	for (i = 0; hostile[i]; i++, n++) {
		csv_field(&w, "row");
		csv_field(&w, hostile[i]);
		csv_field_u64(&w, i);
		csv_end_row(&w);
	}
	csv_field(&w, big);
	csv_end_row(&w);
	rewind(f);
	csv_reader_init(&r, f);
	for (i = 0; hostile[i]; i++) {
		ret = csv_read_record(&r);
		CHECK(ret == 1 && !r.error && r.nr_fields == 3, "row %zu read back (%d, %s, %zu)", i,
		      ret, r.error ? r.error : "", r.nr_fields);
		if (ret != 1 || r.nr_fields != 3)
			break;
		CHECK(!strcmp(csv_get(&r, 1), hostile[i]), "field %zu survives: [%s] vs [%s]", i,
		      csv_get(&r, 1), hostile[i]);
		CHECK(strtoul(csv_get(&r, 2), NULL, 10) == i, "row %zu index", i);
	}
	ret = csv_read_record(&r);
	CHECK(ret == 1 && !strcmp(csv_get(&r, 0), big), "a 10 KB field survives");
	CHECK(csv_read_record(&r) == 0, "end of input");
	csv_reader_free(&r);
	fclose(f);
}

static FILE *from_string(const char *s)
{
	FILE *f = tmpfile();

	fputs(s, f);
	rewind(f);
	return f;
}

static void test_malformed(void)
{
	FILE *f = from_string("a,b\n\"x\ny\",2\nbad\"quote,3\n\"closed\"junk,4\nok,5\r\nlast,\"open\n");
	struct csv_reader r;

	csv_reader_init(&r, f);
	CHECK(csv_read_record(&r) == 1 && !r.error && r.line == 1, "header on line 1");
	CHECK(csv_read_record(&r) == 1 && !r.error && r.line == 2 &&
	      !strcmp(csv_get(&r, 0), "x\ny"), "quoted newline record starts on line 2");
	CHECK(csv_read_record(&r) == 1 && r.error && r.line == 4, "quote inside unquoted: line 4 (%s, %llu)",
	      r.error ? r.error : "none", (unsigned long long)r.line);
	CHECK(csv_read_record(&r) == 1 && r.error && r.line == 5, "text after closing quote: line 5");
	CHECK(csv_read_record(&r) == 1 && !r.error && r.line == 6 && !strcmp(csv_get(&r, 1), "5"),
	      "CRLF record after bad ones reads fine");
	CHECK(csv_read_record(&r) == 1 && r.error && r.line == 7, "unterminated quote at EOF: line 7");
	CHECK(csv_read_record(&r) == 0, "then end of input");
	csv_reader_free(&r);
	fclose(f);
}

static void test_samples(void)
{
	FILE *f = from_string("timestamp_ns,lat_us,event\n1,2.5,read\n2,4,read\n\n3,abc,write\n"
			      "4,1\n5,-1,write\n6,1000,\"write, sync\"\n");
	struct csv_samples_opts o = { .group_by = "event" };
	struct csv_samples s;
	char err[256];
	size_t i;

	CHECK(!csv_samples_load(f, &o, &s, err, sizeof(err)), "load: %s", err);
	CHECK(!strcmp(s.column, "lat_us") && s.unit == CSV_UNIT_US, "lat_us found, unit us");
	CHECK(s.rows == 6 && s.bad_rows == 3, "6 rows, 3 malformed (%llu, %llu)",
	      (unsigned long long)s.rows, (unsigned long long)s.bad_rows);
	CHECK(s.nr_bad_listed == 3 && s.bad[0].line == 5 && s.bad[1].line == 6 &&
	      s.bad[2].line == 7, "malformed rows listed by line (5, 6, 7)");
	for (i = 0; i < s.nr_groups; i++) {
		if (!strcmp(s.groups[i].name, "read"))
			CHECK(s.groups[i].count == 2 && s.groups[i].total_ns == 6500 &&
			      s.groups[i].max_ns == 4000, "read: 2 samples, 6500 ns");
		else
			CHECK(!strcmp(s.groups[i].name, "write, sync") && s.groups[i].count == 1 &&
			      s.groups[i].total_ns == 1000000, "write, sync: 1 ms");
	}
	CHECK(s.nr_groups == 2, "two groups");
	csv_samples_free(&s);
	fclose(f);

	f = from_string("a,b\n1,2\n");
	o.group_by = NULL;
	CHECK(csv_samples_load(f, &o, &s, err, sizeof(err)) < 0 && strstr(err, "--column"),
	      "no latency column: error names --column (%s)", err);
	fclose(f);
}

/* analyze's path (CSV text -> loader -> histogram -> modality) must give the
 * verdict modality_analyze_samples gives on the same samples. */
static void test_verdicts_match(void)
{
	static const struct { double frac_slow, ratio; size_t n; } cases[] = {
		{ 0.0, 1, 20000 }, { 0.1, 100, 20000 }, { 0.03, 30, 100000 }, { 0.2, 10, 5000 },
		{ 0.0, 1, 300 }, { 0.05, 1000, 2000 }, { 0.5, 4, 50000 }, { 0.0, 1, 50 },
	};
	struct csv_samples_opts o = {};
	unsigned int c, seed, agree = 0, total = 0;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (seed = 1; seed <= 3; seed++) {
			__u64 *v = malloc(cases[c].n * sizeof(*v));
			struct modality direct;
			struct csv_samples s;
			struct rng rng;
			char err[256];
			FILE *f = tmpfile();
			size_t i;

			rng_seed(&rng, seed * 1000 + c);
			fputs("timestamp_ns,latency_ns,event\n", f);
			for (i = 0; i < cases[c].n; i++) {
				double med = rng_uniform(&rng) < cases[c].frac_slow ?
					     20000.0 * cases[c].ratio : 20000.0;

				v[i] = (__u64)rng_lognormal(&rng, med, 0.4);
				fprintf(f, "%zu,%llu,ev\n", i, (unsigned long long)v[i]);
			}
			rewind(f);
			modality_analyze_samples(v, cases[c].n, &direct);
			CHECK(!csv_samples_load(f, &o, &s, err, sizeof(err)) && s.nr_groups == 1,
			      "load case %u", c);
			if (s.nr_groups == 1) {
				struct modality via_csv;

				modality_analyze(s.groups[0].hist_count, s.groups[0].hist_sum_ns,
						 &via_csv);
				total++;
				agree += via_csv.verdict == direct.verdict;
				CHECK(via_csv.verdict == direct.verdict,
				      "case %u seed %u: csv %s, samples %s", c, seed,
				      modality_verdict_name(via_csv.verdict),
				      modality_verdict_name(direct.verdict));
			}
			csv_samples_free(&s);
			fclose(f);
			free(v);
		}
	}
	printf("verdicts agree on %u of %u generated sets\n", agree, total);
}

int main(void)
{
	test_round_trip();
	test_malformed();
	test_samples();
	test_verdicts_match();
	return check_summary("CSV tests");
}
