/*
 * kind-stack-watch: reading a stack file's watch: block (kind-stack.c
 * calls it for the key). Private to manifests/.
 */
#ifndef SF_MANIFESTS_KIND_STACK_WATCH_H
#define SF_MANIFESTS_KIND_STACK_WATCH_H

#include "manifests/doc.h"
#include "manifests/stack.h"

void stack_load_watch(struct doc *d, const struct ynode *n,
                      struct stack_watch *w);

#endif
