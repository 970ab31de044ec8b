/* result_file.c: --out result=FILE, the run's complete result (stampede-result/1). */
#include "output/output.h"
#include "util/outfile.h"

static int result_open(struct output *o, char *err, size_t errlen)
{
	return outfile_check(o->arg, err, errlen);
}

static int result_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	return result_write(o->arg, r, err, errlen);
}

const struct output_ops output_result = {
	.name = "result",
	.open = result_open,
	.finish = result_finish,
};
