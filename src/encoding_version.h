#ifndef RAI_ENCODING_VERSION_H
#define RAI_ENCODING_VERSION_H

/* The encoding version of AI_TENSOR, AI__MODEL and AI_SCRIPT values, RedisAI 1.2.5's, so that RDB
 * files and DUMP payloads interchange with RedisAI (docs/PERSISTENCE.md §1): the version RDB save and
 * DUMP write, and the newest RDB load and RESTORE accept. The shim registers the types with it;
 * Cython reads it through redisai_module/serialization/encoding_version.pxd. Raising it takes a
 * new encoder (the serialization files named *_save.pyx), a frozen decoder for the layout it
 * replaces, and a row in each table of serialization/decoders.pyx. */
#define RAI_ENCODING_VERSION 4

#endif
