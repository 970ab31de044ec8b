/* analyses.h: every analysis of a run, from its result alone, into result.analyses: the
 * test type's verdicts (verdict.h), leaks (leak.h). `run` fills them at the end of the run,
 * `report` for a result file that lacks them. */
#ifndef STAMPEDE_ANALYSES_H
#define STAMPEDE_ANALYSES_H

#include "result/result.h"

/* Compute each analysis that r->analyses does not hold yet and that r's data supports
 * ("testType", "leaks"). */
void analyses_fill(struct result *r);

#endif
