/*
 * schema: a JSON Schema (draft-07) of every manifest kind sandform reads
 * (Sandbox, Stack), for editors (yaml-language-server) to complete and
 * check manifests. `sandform schema` prints it; docs/sandform.schema.json
 * is a copy kept in sync by a test.
 *
 * The Sandbox part is made from the field table of manifests/spec.c, so a
 * field added there appears here. The schema checks each value on its own;
 * the rules across fields (image or snapshot, GPU and ephemeral, ...) are
 * sandform validate's alone, which stays the authority.
 */
#ifndef SF_MANIFESTS_SCHEMA_H
#define SF_MANIFESTS_SCHEMA_H

#include <cjson/cJSON.h>

/* The schema's "$id". */
#define SCHEMA_ID "https://sandform.dev/schema/v1/sandform.schema.json"

/* schema_to_json: the schema as a new tree, owned by the caller
 * (cJSON_Delete). */
cJSON *schema_to_json(void);

#endif
