/* crc32c.h: CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78).
 *
 * Guards every record of the resume journal (coordinator/journal/journal.c): a flipped
 * bit, a torn write or a hand edit changes the CRC, so a damaged record is refused
 * instead of silently feeding the reduce. Portable table-driven implementation
 * ("slicing by 8", tables built once on first use), the same check value as iSCSI,
 * ext4 and SSE4.2's crc32 instruction: crc32c("123456789") = 0xE3069283. */
#ifndef SWAN_CRC32C_H
#define SWAN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of len bytes. To continue a running CRC pass the previous result as crc
 * (0 to start): crc32c(b, crc32c(a, 0)) == crc32c(a || b). */
uint32_t swan_crc32c(const void *data, size_t len, uint32_t crc);

#endif
