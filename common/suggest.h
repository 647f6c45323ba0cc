/*
 * suggest: "did you mean X?" for a word that is not one of a known set
 * (commands, options, manifest keys), by edit distance.
 *
 * Returned pointers are the caller's own candidates; nothing is
 * allocated that outlives a call.
 */
#ifndef SF_COMMON_SUGGEST_H
#define SF_COMMON_SUGGEST_H

#include <stddef.h>

/*
 * suggest_distance: the optimal string alignment distance between a and b
 * (insertions, deletions, substitutions and swaps of two neighbouring
 * bytes each count 1), compared without regard to ASCII case; words
 * that differ only in case are at distance 1 ("Plan" and "plan").
 */
size_t suggest_distance(const char *a, const char *b);

/*
 * suggest_closest: the candidate nearest to word, when it is near enough
 * to be a typing mistake: a distance of at most 1 for words of up to 4
 * bytes, 2 up to 8 bytes, 3 beyond (and never the whole word). Of
 * candidates equally near, the first. NULL when none is near enough or
 * word is one of them. NULL candidates are skipped.
 */
const char *suggest_closest(const char *word, const char *const *cands,
                            size_t n);

#endif
