/*
 * Redshift's CRC32(text) for the local warehouse on PostgreSQL, which has no CRC function before version 18:
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of the text's bytes, as 8 lower-case hex digits.
 * Built and installed by scripts/install-pg-crc32.sh; where it is absent, the stand-in installs the same function
 * in PL/pgSQL (local/redshift/postgres.ts), slower and with the same values.
 */
#include "postgres.h"
#include "fmgr.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

static uint32 table[8][256];
static bool ready = false;

static void
build_table(void)
{
	for (uint32 i = 0; i < 256; i++)
	{
		uint32 crc = i;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
		table[0][i] = crc;
	}
	for (uint32 i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
	ready = true;
}

PG_FUNCTION_INFO_V1(mrsync_crc32);

Datum
mrsync_crc32(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	const unsigned char *p = (const unsigned char *) VARDATA_ANY(value);
	size_t		n = VARSIZE_ANY_EXHDR(value);
	uint32		crc = 0xFFFFFFFF;
	char		hex[9];

	if (!ready)
		build_table();
	/* Slicing by 8: eight bytes per step. */
	while (n >= 8)
	{
		uint32 lo = crc ^ ((uint32) p[0] | (uint32) p[1] << 8 | (uint32) p[2] << 16 | (uint32) p[3] << 24);
		crc = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
			table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
	snprintf(hex, sizeof hex, "%08x", crc ^ 0xFFFFFFFF);
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}
