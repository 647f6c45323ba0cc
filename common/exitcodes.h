/*
 * exitcodes: the process exit statuses of sandform, documented in
 * sandform(1). Drift or changes found never look like failure.
 */
#ifndef SF_COMMON_EXITCODES_H
#define SF_COMMON_EXITCODES_H

#define SF_EXIT_OK      0 /* success, nothing to do */
#define SF_EXIT_ERROR   1 /* an error (bad input, API failure, ...) */
#define SF_EXIT_CHANGES 2 /* changes or drift present */
#define SF_EXIT_LOCKED  3 /* the stack is locked by another run */

#endif
