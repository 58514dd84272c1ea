/* file_store — uploaded files: their metadata, the tenants' blobs and what
 * each tenant stores.
 *
 * Owns the tables files, blobs and usage (docs/storage.md). A file record
 * names its bytes by (tenant, SHA-256): the blob record says such bytes
 * are stored (under <data>/blobs/, written and removed by actors/files),
 * so one tenant's identical uploads share one blob and no tenant's keys
 * or paths reach another's. The usage record counts a tenant's blob bytes
 * against its quota inside the same write transaction as the file.
 */
#ifndef PARLEY_FILE_STORE_H
#define PARLEY_FILE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Reads file (tid, fid); 0, STORE_ENOTFOUND, STORE_ECORRUPT or STORE_EIO. */
int filestore_get(store_txn *t, uint64_t tid, uint64_t fid, rec_file *out);

/* What tenant tid stores (zeros when nothing); 0, STORE_ECORRUPT or STORE_EIO. */
int filestore_usage(store_txn *t, uint64_t tid, rec_usage *out);

/* 0 when tenant tid has a blob with this SHA-256, else STORE_ENOTFOUND (or STORE_EIO). */
int filestore_blob_exists(store_txn *t, uint64_t tid, const uint8_t sha256[32]);

/* In the write transaction: stores file f (its id unused) and, when the
 * tenant has no blob of its content yet, the blob record (*blob_new set),
 * counting its bytes in the tenant's usage. STORE_ELIMIT (nothing
 * written) when that would take the tenant's blob bytes past quota
 * (0: no quota); STORE_EEXISTS when the id is taken. */
int filestore_put(store_txn *t, const rec_file *f, uint64_t quota, bool *blob_new);

#endif
