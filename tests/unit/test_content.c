/* test_content.c: unit tests for decoding HTTP content codings (gzip, deflate, br, zstd). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "protocol/content.h"
#include "util/buf.h"
#include "util/common.h"

#define TC_HELLO  "hello, content coding\n"
#define TC_PREFIX "prefix:"
#define TC_PLEN   (sizeof(TC_PREFIX) - 1)
#define TC_CAP    ((size_t)64 << 20)

/* libbrotlienc is not linked, so the br bodies were made with the brotli(1) tool, -q 11. */

/* TC_HELLO. */
static const unsigned char tc_hello_br[] = {
	0xa1, 0xa8, 0x00, 0xc0, 0x2f, 0xad, 0x00, 0x32, 0xf6, 0xa6, 0x07, 0x29,
	0x44, 0x11, 0x4d, 0x24, 0x07, 0xba, 0x5c, 0xc4, 0x4e, 0xb5, 0x9d, 0x05,
};

/* "0123456789abcdef" 6250 times (tc_big_plain). */
static const unsigned char tc_big_br[] = {
	0x81, 0xfa, 0x34, 0x0c, 0xfc, 0xf2, 0xe0, 0x18, 0x6a, 0xb3, 0x86, 0x1f, 0x0f, 0xc6,
	0x00, 0x2a, 0xf9, 0x05, 0x00, 0x12, 0x8b, 0x9a, 0x47, 0x56, 0xcf, 0xde, 0x03,
};

/* The empty string. */
static const unsigned char tc_empty_br[] = { 0xa1, 0x01 };

/* TC_HELLO gzipped (mtime 0) then brotli-compressed: "Content-Encoding: gzip, br". */
static const unsigned char tc_hello_gz_br[] = {
	0x21, 0x9c, 0x00, 0x04, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb,
	0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x48, 0xce, 0xcf, 0x2b, 0x49, 0xcd, 0x2b, 0x01, 0xd2,
	0x29, 0x99, 0x79, 0xe9, 0x5c, 0x00, 0x1a, 0x35, 0x71, 0x76, 0x16, 0x00, 0x00, 0x00, 0x03,
};

/* Raw deflate whose first two bytes are a valid zlib header: a non-final stored block
 * holding "X", then an empty final block. Read as zlib it fails, so the raw reading wins. */
static const unsigned char tc_raw_like_zlib[] = { 0x78, 0x01, 0x00, 0xfe, 0xff, 'X', 0x03, 0x00 };

/* zstd frames with an 8 MB and a 16 MB window (no content size) holding one raw block "a". */
static const unsigned char tc_zstd_w23[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00,
	                                     0x68, 0x09, 0x00, 0x00, 'a' };
static const unsigned char tc_zstd_w24[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00,
	                                     0x70, 0x09, 0x00, 0x00, 'a' };

static void tc_text(struct buf *b, size_t lines)
{
	char line[80];

	for (size_t i = 0; i < lines; i++) {
		int n = snprintf(line, sizeof(line),
		                 "line %05zu: the quick brown fox jumps over the lazy dog\n", i);
		buf_add(b, line, (size_t)n);
	}
}

static void tc_big_plain(struct buf *b)
{
	for (int i = 0; i < 6250; i++)
		buf_add(b, "0123456789abcdef", 16);
}

/* Compress with zlib's encoder (window_bits 15 = zlib, -15 = raw deflate, 31 = gzip). */
static void tc_zlib(const void *in, size_t n, int window_bits, struct buf *out)
{
	z_stream zs;
	size_t bound;

	memset(&zs, 0, sizeof(zs));
	cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	bound = deflateBound(&zs, n) + 64;
	buf_reserve(out, bound);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out->p + out->len;
	zs.avail_out = (uInt)bound;
	cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->len += bound - zs.avail_out;
	deflateEnd(&zs);
}

static void tc_zstd(const void *in, size_t n, bool checksum, struct buf *out)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t bound = ZSTD_compressBound(n), r;

	cr_assert_not_null(cc);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, checksum);
	buf_reserve(out, bound);
	r = ZSTD_compress2(cc, out->p + out->len, bound, in, n);
	cr_assert(!ZSTD_isError(r), "ZSTD_compress2: %s", ZSTD_getErrorName(r));
	out->len += r;
	ZSTD_freeCCtx(cc);
}

/* Append in encoded with one coding: gzip, deflate (zlib), raw (raw deflate), zstd. */
static void tc_encode(const char *coding, const void *in, size_t n, struct buf *out)
{
	if (strcmp(coding, "gzip") == 0)
		tc_zlib(in, n, 16 + MAX_WBITS, out);
	else if (strcmp(coding, "deflate") == 0)
		tc_zlib(in, n, MAX_WBITS, out);
	else if (strcmp(coding, "raw") == 0)
		tc_zlib(in, n, -MAX_WBITS, out);
	else if (strcmp(coding, "zstd") == 0)
		tc_zstd(in, n, true, out);
	else
		cr_assert_fail("no encoder for %s", coding);
}

/* Apply codings[0], codings[1], ... in turn (the order of a Content-Encoding list). */
static void tc_encode_list(const char *const *codings, size_t n, const void *in, size_t inlen,
                           struct buf *out)
{
	struct buf cur = { 0 }, next = { 0 };

	buf_add(&cur, in, inlen);
	for (size_t i = 0; i < n; i++) {
		next.len = 0;
		tc_encode(codings[i], cur.p, cur.len, &next);
		cur.len = 0;
		buf_add(&cur, next.p, next.len);
	}
	buf_add(out, cur.p, cur.len);
	buf_free(&cur);
	buf_free(&next);
}

/* Decode into a buffer that already holds TC_PREFIX; it must gain exactly want. */
static void tc_ok_cap(const char *ce, const void *in, size_t inlen, size_t max_out,
                      const void *want, size_t wantlen)
{
	struct buf out = { 0 };
	char err[256] = "";
	int rc;

	buf_addstr(&out, TC_PREFIX);
	rc = content_decode(ce, in, inlen, &out, max_out, err, sizeof(err));
	cr_assert_eq(rc, 0, "content_decode(\"%s\", %zu bytes): %d %s", ce, inlen, rc, err);
	cr_assert_eq(out.len, TC_PLEN + wantlen, "\"%s\": %zu bytes, want %zu", ce,
	             out.len - TC_PLEN, wantlen);
	cr_assert(memcmp(out.p, TC_PREFIX, TC_PLEN) == 0, "\"%s\": prefix lost", ce);
	cr_assert(wantlen == 0 || memcmp(out.p + TC_PLEN, want, wantlen) == 0,
	          "\"%s\": wrong bytes", ce);
	cr_assert_eq(out.p[out.len], '\0', "\"%s\": not NUL-terminated", ce);
	buf_free(&out);
}

static void tc_ok(const char *ce, const void *in, size_t inlen, const void *want, size_t wantlen)
{
	tc_ok_cap(ce, in, inlen, TC_CAP, want, wantlen);
}

/* Decoding must fail with want_rc, leave out as it was and say something containing what. */
static void tc_fail(const char *ce, const void *in, size_t inlen, size_t max_out, int want_rc,
                    const char *what)
{
	struct buf out = { 0 };
	char err[256] = "";
	int rc;

	buf_addstr(&out, TC_PREFIX);
	rc = content_decode(ce, in, inlen, &out, max_out, err, sizeof(err));
	cr_assert_eq(rc, want_rc, "content_decode(\"%s\", %zu bytes, max %zu) = %d (%s), want %d",
	             ce, inlen, max_out, rc, err, want_rc);
	cr_assert_eq(out.len, TC_PLEN, "\"%s\": out changed on failure", ce);
	cr_assert_str_eq(out.p, TC_PREFIX);
	cr_assert_not_null(strstr(err, what), "\"%s\": message '%s' lacks '%s'", ce, err, what);
	buf_free(&out);
}

Test(content, identity_and_absent_header)
{
	static const char *const values[] = { NULL, "", "identity", " IDENTITY\t", ", ,identity,,",
		                              "\t" };

	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		tc_ok(values[i], TC_HELLO, strlen(TC_HELLO), TC_HELLO, strlen(TC_HELLO));
		tc_ok(values[i], NULL, 0, "", 0);
		tc_ok_cap(values[i], TC_HELLO, strlen(TC_HELLO), strlen(TC_HELLO), TC_HELLO,
		          strlen(TC_HELLO));
		tc_fail(values[i], TC_HELLO, strlen(TC_HELLO), strlen(TC_HELLO) - 1, -EFBIG,
		        "exceeds the limit of 21 bytes");
	}
}

Test(content, gzip_round_trip)
{
	static const char *const values[] = { "gzip",     "x-gzip", " GZIP ",
		                              "X-Gzip\t", "gzip,",  "identity, gzip" };
	struct buf plain = { 0 }, enc = { 0 };

	for (int t = 0; t < 3; t++) {
		plain.len = enc.len = 0;
		if (t == 1)
			buf_addstr(&plain, TC_HELLO);
		if (t == 2)
			tc_text(&plain, 2000); /* 112 kB: the output buffer grows several times */
		tc_encode("gzip", plain.p, plain.len, &enc);
		for (size_t i = 0; i < ARRAY_SIZE(values); i++)
			tc_ok(values[i], enc.p, enc.len, plain.p, plain.len);
	}
	buf_free(&plain);
	buf_free(&enc);
}

Test(content, gzip_concatenated_members)
{
	struct buf enc = { 0 }, plain = { 0 };

	tc_encode("gzip", "first member, ", 14, &enc);
	tc_encode("gzip", "", 0, &enc);
	tc_text(&plain, 300);
	tc_encode("gzip", plain.p, plain.len, &enc);
	plain.len = 0;
	buf_addstr(&plain, "first member, ");
	tc_text(&plain, 300);
	tc_ok("gzip", enc.p, enc.len, plain.p, plain.len);
	buf_free(&enc);
	buf_free(&plain);
}

Test(content, deflate_zlib_and_raw)
{
	static const char *const values[] = { "deflate", "Deflate", " DEFLATE , " };
	static const char *const formats[] = { "deflate", "raw" };
	struct buf plain = { 0 }, enc = { 0 };

	for (int t = 0; t < 3; t++) {
		plain.len = 0;
		if (t == 1)
			buf_addstr(&plain, TC_HELLO);
		if (t == 2)
			tc_text(&plain, 2000);
		for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
			enc.len = 0;
			tc_encode(formats[f], plain.p, plain.len, &enc);
			for (size_t i = 0; i < ARRAY_SIZE(values); i++)
				tc_ok(values[i], enc.p, enc.len, plain.p, plain.len);
		}
	}
	buf_free(&plain);
	buf_free(&enc);
}

Test(content, raw_deflate_that_starts_like_zlib)
{
	cr_assert_eq(((tc_raw_like_zlib[0] << 8) | tc_raw_like_zlib[1]) % 31, 0);
	tc_ok("deflate", tc_raw_like_zlib, sizeof(tc_raw_like_zlib), "X", 1);
}

Test(content, br_vectors)
{
	struct buf big = { 0 };

	tc_big_plain(&big);
	tc_ok("br", tc_hello_br, sizeof(tc_hello_br), TC_HELLO, strlen(TC_HELLO));
	tc_ok(" BR ", tc_hello_br, sizeof(tc_hello_br), TC_HELLO, strlen(TC_HELLO));
	tc_ok("br", tc_big_br, sizeof(tc_big_br), big.p, big.len);
	tc_ok("br", tc_empty_br, sizeof(tc_empty_br), "", 0);
	buf_free(&big);
}

Test(content, zstd_round_trip)
{
	struct buf plain = { 0 }, enc = { 0 };

	for (int t = 0; t < 3; t++) {
		plain.len = 0;
		if (t == 1)
			buf_addstr(&plain, TC_HELLO);
		if (t == 2)
			tc_text(&plain, 2000);
		for (int checksum = 0; checksum < 2; checksum++) {
			enc.len = 0;
			tc_zstd(plain.p, plain.len, checksum, &enc);
			tc_ok("zstd", enc.p, enc.len, plain.p, plain.len);
			tc_ok("ZStd", enc.p, enc.len, plain.p, plain.len);
		}
	}
	buf_free(&plain);
	buf_free(&enc);
}

Test(content, zstd_concatenated_and_skippable_frames)
{
	/* Skippable frame: magic 0x184D2A50 (little-endian), 4-byte size, that many bytes. */
	static const unsigned char skip[] = { 0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z' };
	struct buf enc = { 0 }, plain = { 0 };

	tc_zstd("one, ", 5, false, &enc);
	buf_add(&enc, skip, sizeof(skip));
	tc_text(&plain, 500);
	tc_zstd(plain.p, plain.len, true, &enc);
	plain.len = 0;
	buf_addstr(&plain, "one, ");
	tc_text(&plain, 500);
	tc_ok("zstd", enc.p, enc.len, plain.p, plain.len);
	buf_free(&enc);
	buf_free(&plain);
}

Test(content, zstd_window_over_8mb_is_refused)
{
	tc_ok("zstd", tc_zstd_w23, sizeof(tc_zstd_w23), "a", 1);
	tc_fail("zstd", tc_zstd_w24, sizeof(tc_zstd_w24), TC_CAP, -EINVAL,
	        "zstd content coding: corrupt data");
}

Test(content, two_and_more_codings)
{
	static const char *const gz_zstd[] = { "gzip", "zstd" };
	static const char *const defl_gz[] = { "deflate", "gzip" };
	static const char *const three[] = { "raw", "gzip", "zstd" };
	struct buf plain = { 0 }, enc = { 0 };

	tc_text(&plain, 700);
	tc_encode_list(gz_zstd, 2, plain.p, plain.len, &enc);
	tc_ok("gzip, zstd", enc.p, enc.len, plain.p, plain.len);
	tc_ok("  GZIP ,\tzstd  ", enc.p, enc.len, plain.p, plain.len);
	tc_ok("identity, gzip, identity, zstd", enc.p, enc.len, plain.p, plain.len);
	tc_fail("zstd, gzip", enc.p, enc.len, TC_CAP, -EINVAL, "gzip content coding: corrupt");

	enc.len = 0;
	tc_encode_list(defl_gz, 2, plain.p, plain.len, &enc);
	tc_ok("deflate,gzip", enc.p, enc.len, plain.p, plain.len);

	enc.len = 0;
	tc_encode_list(three, 3, plain.p, plain.len, &enc);
	tc_ok("deflate, x-gzip, zstd", enc.p, enc.len, plain.p, plain.len);

	enc.len = 0;
	tc_encode("gzip", tc_hello_br, sizeof(tc_hello_br), &enc);
	tc_ok("br, gzip", enc.p, enc.len, TC_HELLO, strlen(TC_HELLO));
	tc_ok("gzip, br", tc_hello_gz_br, sizeof(tc_hello_gz_br), TC_HELLO, strlen(TC_HELLO));
	tc_fail("br, gzip", tc_hello_gz_br, sizeof(tc_hello_gz_br), TC_CAP, -EINVAL,
	        "gzip content coding");
	buf_free(&plain);
	buf_free(&enc);
}

Test(content, eight_stacked_codings_and_no_more)
{
	static const char *const eight[] = { "gzip", "zstd", "deflate", "raw",
		                             "gzip", "zstd", "gzip",    "deflate" };
	struct buf enc = { 0 };

	tc_encode_list(eight, 8, TC_HELLO, strlen(TC_HELLO), &enc);
	tc_ok("gzip, zstd, deflate, deflate, gzip, zstd, gzip, deflate", enc.p, enc.len, TC_HELLO,
	      strlen(TC_HELLO));
	tc_fail("gzip, gzip, gzip, gzip, gzip, gzip, gzip, gzip, gzip", enc.p, enc.len, TC_CAP,
	        -ENOTSUP, "more than 8");
	cr_expect_not(content_coding_supported("br,br,br,br,br,br,br,br,br"));
	cr_expect(content_coding_supported("br,br,br,br,identity,br,br,br,br"));
	buf_free(&enc);
}

Test(content, empty_body_with_any_coding)
{
	static const char *const values[] = { "gzip", "deflate",  "br",
		                              "zstd", "gzip, br", "identity" };

	for (size_t i = 0; i < ARRAY_SIZE(values); i++)
		tc_ok(values[i], NULL, 0, "", 0);
	tc_fail("compress", NULL, 0, TC_CAP, -ENOTSUP, "'compress'");
}

/* Every strict prefix of a valid body fails with EINVAL, naming the coding. */
static void tc_prefixes(const char *ce, const void *enc, size_t len, const char *what)
{
	for (size_t n = 1; n < len; n++)
		tc_fail(ce, enc, n, TC_CAP, -EINVAL, what);
}

Test(content, truncated_input)
{
	struct buf plain = { 0 }, enc = { 0 };

	tc_text(&plain, 40);
	tc_encode("gzip", plain.p, plain.len, &enc);
	tc_prefixes("gzip", enc.p, enc.len, "gzip content coding: truncated data");
	enc.len = 0;
	tc_encode("deflate", plain.p, plain.len, &enc);
	tc_prefixes("deflate", enc.p, enc.len, "deflate content coding: truncated data");
	enc.len = 0;
	tc_encode("raw", plain.p, plain.len, &enc);
	tc_prefixes("deflate", enc.p, enc.len, "deflate content coding: ");
	enc.len = 0;
	tc_zstd(plain.p, plain.len, false, &enc);
	tc_prefixes("zstd", enc.p, enc.len, "zstd content coding: truncated data");
	tc_prefixes("br", tc_hello_br, sizeof(tc_hello_br), "br content coding: truncated data");
	tc_prefixes("br", tc_big_br, sizeof(tc_big_br), "br content coding: ");
	buf_free(&plain);
	buf_free(&enc);
}

Test(content, corrupt_input)
{
	struct buf enc = { 0 };

	tc_encode("gzip", TC_HELLO, strlen(TC_HELLO), &enc);
	enc.p[enc.len - 6] ^= 0x40; /* CRC-32 */
	tc_fail("gzip", enc.p, enc.len, TC_CAP, -EINVAL,
	        "gzip content coding: corrupt data (incorrect data check)");
	enc.p[enc.len - 6] ^= 0x40;
	buf_add(&enc, "junk", 4);
	tc_fail("gzip", enc.p, enc.len, TC_CAP, -EINVAL, "gzip content coding: corrupt data");
	tc_fail("gzip", "not gzip at all", 15, TC_CAP, -EINVAL,
	        "gzip content coding: corrupt data (incorrect header check)");

	enc.len = 0;
	tc_encode("deflate", TC_HELLO, strlen(TC_HELLO), &enc);
	enc.p[enc.len - 1] ^= 0x01; /* Adler-32 */
	tc_fail("deflate", enc.p, enc.len, TC_CAP, -EINVAL,
	        "deflate content coding: corrupt data (incorrect data check)");
	enc.p[enc.len - 1] ^= 0x01;
	buf_add(&enc, "x", 1);
	tc_fail("deflate", enc.p, enc.len, TC_CAP, -EINVAL,
	        "deflate content coding: unexpected data after the end");
	tc_fail("deflate", "\xff\xff\xff", 3, TC_CAP, -EINVAL,
	        "deflate content coding: corrupt data (invalid block type)");

	enc.len = 0;
	buf_add(&enc, tc_hello_br, sizeof(tc_hello_br));
	buf_add(&enc, "x", 1);
	tc_fail("br", enc.p, enc.len, TC_CAP, -EINVAL,
	        "br content coding: unexpected data after the end");
	tc_fail("br", "\xff\xff\xff\xff", 4, TC_CAP, -EINVAL, "br content coding: corrupt data (");

	enc.len = 0;
	tc_zstd(TC_HELLO, strlen(TC_HELLO), true, &enc);
	enc.p[enc.len - 2] ^= 0x10; /* content checksum */
	tc_fail("zstd", enc.p, enc.len, TC_CAP, -EINVAL, "zstd content coding: corrupt data (");
	enc.p[enc.len - 2] ^= 0x10;
	buf_add(&enc, "junk", 4);
	tc_fail("zstd", enc.p, enc.len, TC_CAP, -EINVAL, "zstd content coding: ");
	tc_fail("zstd", "not zstd", 8, TC_CAP, -EINVAL, "zstd content coding: corrupt data (");
	buf_free(&enc);
}

/* Flipping any bit of a valid body never crashes; a failure leaves out as it was. */
static void tc_flips(const char *ce, const unsigned char *body, size_t len, size_t max_out)
{
	unsigned char *copy = xmalloc(len);
	struct buf out = { 0 };

	for (size_t i = 0; i < len * 8; i++) {
		int rc;

		memcpy(copy, body, len);
		copy[i / 8] ^= (unsigned char)(1u << (i % 8));
		out.len = 0;
		buf_addstr(&out, TC_PREFIX);
		rc = content_decode(ce, copy, len, &out, max_out, NULL, 0);
		cr_assert(rc == 0 || rc == -EINVAL || rc == -EFBIG, "%s bit %zu: rc %d", ce, i, rc);
		cr_assert(rc == 0 ? out.len <= TC_PLEN + max_out : out.len == TC_PLEN);
		cr_assert_eq(out.p[out.len], '\0');
	}
	buf_free(&out);
	free(copy);
}

Test(content, every_bit_flip_is_safe)
{
	struct buf plain = { 0 }, enc = { 0 };

	tc_text(&plain, 30);
	tc_encode("gzip", plain.p, plain.len, &enc);
	tc_flips("gzip", (unsigned char *)enc.p, enc.len, 4096);
	enc.len = 0;
	tc_encode("deflate", plain.p, plain.len, &enc);
	tc_flips("deflate", (unsigned char *)enc.p, enc.len, 4096);
	enc.len = 0;
	tc_encode("raw", plain.p, plain.len, &enc);
	tc_flips("deflate", (unsigned char *)enc.p, enc.len, 4096);
	enc.len = 0;
	tc_zstd(plain.p, plain.len, false, &enc);
	tc_flips("zstd", (unsigned char *)enc.p, enc.len, 4096);
	tc_flips("br", tc_hello_br, sizeof(tc_hello_br), 4096);
	tc_flips("br", tc_big_br, sizeof(tc_big_br), 200000);
	tc_flips("gzip, br", tc_hello_gz_br, sizeof(tc_hello_gz_br), 4096);
	buf_free(&plain);
	buf_free(&enc);
}

Test(content, size_cap)
{
	static const char *const encs[] = { "gzip", "deflate", "raw", "zstd" };
	struct buf plain = { 0 }, enc = { 0 }, zeros = { 0 };
	char what[64];

	tc_text(&plain, 1000);
	snprintf(what, sizeof(what), "exceeds the limit of %zu bytes", plain.len - 1);
	for (size_t i = 0; i < ARRAY_SIZE(encs); i++) {
		const char *ce = strcmp(encs[i], "raw") == 0 ? "deflate" : encs[i];

		enc.len = 0;
		tc_encode(encs[i], plain.p, plain.len, &enc);
		tc_ok_cap(ce, enc.p, enc.len, plain.len, plain.p, plain.len);
		tc_fail(ce, enc.p, enc.len, plain.len - 1, -EFBIG, what);
		tc_fail(ce, enc.p, enc.len, 0, -EFBIG, "exceeds the limit of 0 bytes");
		enc.len = 0;
		tc_encode(encs[i], "", 0, &enc); /* a non-empty body that decodes to nothing */
		tc_ok_cap(ce, enc.p, enc.len, 0, "", 0);
	}
	plain.len = 0;
	tc_big_plain(&plain);
	tc_ok_cap("br", tc_big_br, sizeof(tc_big_br), 100000, plain.p, plain.len);
	tc_fail("br", tc_big_br, sizeof(tc_big_br), 99999, -EFBIG,
	        "br content coding: decoded size exceeds the limit of 99999 bytes");

	/* A bomb: 16 MiB of zeros, gzipped then gzipped again, stopped at 1 MiB. */
	buf_reserve(&zeros, 16 << 20);
	memset(zeros.p, 0, 16 << 20);
	zeros.len = 16 << 20;
	enc.len = 0;
	tc_encode("gzip", zeros.p, zeros.len, &enc);
	tc_fail("gzip", enc.p, enc.len, 1 << 20, -EFBIG, "limit of 1048576 bytes");
	plain.len = 0;
	tc_encode("gzip", enc.p, enc.len, &plain);
	tc_fail("gzip, gzip", plain.p, plain.len, 1 << 20, -EFBIG, "limit of 1048576 bytes");
	enc.len = 0;
	tc_zstd(zeros.p, zeros.len, false, &enc);
	tc_fail("zstd", enc.p, enc.len, 1 << 20, -EFBIG, "limit of 1048576 bytes");
	buf_free(&plain);
	buf_free(&enc);
	buf_free(&zeros);
}

Test(content, unknown_coding)
{
	char long_name[200];

	tc_fail("compress", TC_HELLO, 5, TC_CAP, -ENOTSUP, "unsupported content coding 'compress'");
	tc_fail("gzip, x-compress", TC_HELLO, 5, TC_CAP, -ENOTSUP, "'x-compress'");
	tc_fail(" gzip br ", TC_HELLO, 5, TC_CAP, -ENOTSUP, "'gzip br'");
	tc_fail("gzip;q=1", TC_HELLO, 5, TC_CAP, -ENOTSUP, "'gzip;q=1'");
	tc_fail("gzip, *", TC_HELLO, 5, TC_CAP, -ENOTSUP, "'*'");
	memset(long_name, 'z', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	tc_fail(long_name, TC_HELLO, 5, TC_CAP, -ENOTSUP, "'zzzzzzzz");
}

Test(content, supported)
{
	cr_expect(content_coding_supported(NULL));
	cr_expect(content_coding_supported(""));
	cr_expect(content_coding_supported("identity"));
	cr_expect(content_coding_supported("gzip"));
	cr_expect(content_coding_supported(" Br "));
	cr_expect(content_coding_supported("x-gzip, deflate,br ,\tzstd"));
	cr_expect_not(content_coding_supported("compress"));
	cr_expect_not(content_coding_supported("gzip, foo"));
	cr_expect_not(content_coding_supported("gzipp"));
	cr_expect_not(content_coding_supported("gzi"));
}

/* Once out has grown, decoding the same body again allocates nothing. */
Test(content, out_is_reused)
{
	struct buf plain = { 0 }, enc = { 0 }, out = { 0 };
	char *p;
	size_t cap;

	tc_text(&plain, 2000);
	tc_encode("gzip", plain.p, plain.len, &enc);
	cr_assert_eq(content_decode("gzip", enc.p, enc.len, &out, TC_CAP, NULL, 0), 0);
	p = out.p;
	cap = out.cap;
	for (int i = 0; i < 3; i++) {
		out.len = 0;
		cr_assert_eq(content_decode("gzip", enc.p, enc.len, &out, TC_CAP, NULL, 0), 0);
		cr_assert_eq(out.len, plain.len);
		cr_assert(out.p == p && out.cap == cap, "out was reallocated");
	}
	cr_assert(memcmp(out.p, plain.p, plain.len) == 0);
	buf_free(&plain);
	buf_free(&enc);
	buf_free(&out);
}
