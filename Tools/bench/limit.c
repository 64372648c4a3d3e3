/* cvault's raw speed limit: the crypto and durable storage work cvault does for each call, in one process,
 * with no server, socket, JSON-RPC parsing, policy or concurrency around it. `cvault bench` compiles this file
 * and runs it in the same temp folder, in the same run, and reports cvault's speed as a ratio of it
 * (docs/BENCHMARKS.md): on shared machines a figure is only meaningful against this machine as it is now.
 *
 * What one value costs here, and why each step is in:
 *   tokenize    a new data key per subject (wrapped by the key-encryption key, as cvault stores it), a token
 *               drawn at random, its keyed BLAKE2b look-up key (cvault stores one for every row), the value
 *               sealed with XChaCha20-Poly1305 under the subject's key with the token as associated data, and
 *               one row inserted. BATCH values share one durable commit, as cvault's group commit gathers
 *               concurrent calls; each call is a savepoint inside it, as each of cvault's write jobs is.
 *   detokenize  the row found from the token, its data key unwrapped, the value opened, and then, as cvault
 *               does before any value may leave, ONE hash-chained audit record per call naming each token by
 *               its keyed audit reference, with an Ed25519 seal of the chain's head as often as cvault seals.
 *               BATCH values per durable commit again.
 * Tokenize writes no audit record here although cvault writes one per tokenize call: leaving it out keeps the
 * tokenize limit the stricter bar (a faster limit), and the audit cost is what the detokenize figure shows.
 *
 * Two layouts of the same work, since cvault has both kinds of token:
 *   index   the row is found by its look-up key (16 bytes, keyed BLAKE2b of the token), the primary key of a
 *           WITHOUT ROWID table: each insert lands on a random B-tree page. This is how cvault finds
 *           deterministic and format-preserving tokens, and what a plain schema gets.
 *   append  the token carries its row id, masked: token = R (11 random bytes) || (id XOR keyed-BLAKE2b(R))
 *           truncated to 5 bytes, as cvault's opaque tokens do. Rows are appended in id order, so an insert
 *           touches only the last page; a look-up unmasks the id, reads that row and compares the stored
 *           look-up key in constant time, so a forged token finds nothing.
 *
 * SQLite is set up as cvault's writer connection is (Sources/VaultSQLite/ConnectionSetup.swift): WAL,
 * synchronous=FULL (the WAL is fsynced at every commit, so each commit is durable before it returns), foreign
 * keys on (a token row checks its subject), secure_delete, temp_store in memory, a 64 MiB page cache and a
 * checkpoint every 10,000 WAL pages. cvault runs that checkpoint on a thread of its own; here it runs inside
 * the commit that crosses the mark, which can only make this limit slower, never faster.
 *
 * Build: cc -O2 -o limit Tools/bench/limit.c -lsodium -lsqlite3
 * Run:   ./limit VALUES BATCH DIR [index|append|both] [PER_CALL]
 *        VALUES values are tokenized (and up to 20,000 of them detokenized), BATCH values per durable commit,
 *        PER_CALL values per call (default 1; 1 client x 1 value is BATCH 1, 64 clients x 1 value is BATCH 64,
 *        1 x 256 is BATCH 256 with PER_CALL 256). The database lives in DIR and is removed afterwards.
 * Prints, per layout, the two lines `cvault bench` reads (Sources/cvault/Bench/SpeedLimit.swift):
 *        limit LAYOUT tokenize values_per_s N  (...)
 *        limit LAYOUT detokenize values_per_s N  (...)
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    KEY = 32,            /* XChaCha20-Poly1305 and BLAKE2b keys, as cvault's */
    NONCE = 24,          /* XChaCha20-Poly1305's nonce, drawn at random per message */
    TAG = 16,            /* Poly1305 tag */
    VALUE = 24,          /* the bytes of one value, as `cvault bench` sends (kind text) */
    TOKEN = 16,          /* token bytes before cvault's Base62 text form (text encoding is not crypto) */
    R = 11,              /* the random part of an append-layout token: 88 bits, as cvault's opaque tokens */
    ID = TOKEN - R,      /* the masked row id's bytes: 40 bits */
    LOOKUP = 16,         /* keyed BLAKE2b-128 look-up key and audit reference, as cvault's */
    SUBJECT_EVERY = 5,   /* single-value calls move to a new subject every 5 values, as the benchmark does */
    DETOKENIZE_MAX = 20000,
    SEAL_EVERY = 1000,   /* cvault seals the audit head every 1,000 records or every second */
};

static sqlite3 *db;
/* The keyring's keys, random for this run: key-encryption, look-up, audit-reference and audit-signing. */
static unsigned char kek[KEY], lookup_key[KEY], reference_key[KEY];
static unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES], sign_sk[crypto_sign_SECRETKEYBYTES];

/* Any SQLite failure ends the run with SQLite's message: a limit that silently skipped work would be wrong. */
static void check(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "limit: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}
static void exec(const char *sql) { check(sqlite3_exec(db, sql, 0, 0, 0), sql); }
static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *s;
    check(sqlite3_prepare_v2(db, sql, -1, &s, 0), sql);
    return s;
}
/* Steps a statement that returns no row (or one row the caller reads before reset) and resets it. */
static void step_done(sqlite3_stmt *s, const char *what) {
    check(sqlite3_step(s), what);
    sqlite3_reset(s);
}
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static void fail(const char *what) {
    fprintf(stderr, "limit: %s\n", what);
    exit(1);
}

/* Sealed box = nonce || ciphertext || tag, as cvault stores it (XChaCha20Poly1305.seal). */
static void seal(unsigned char *out, const unsigned char *m, size_t n, const void *ad, size_t adn,
                 const unsigned char *key) {
    randombytes_buf(out, NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE, NULL, m, n, ad, adn, NULL, out, key);
}
static int open_box(unsigned char *m, const unsigned char *in, size_t n, const void *ad, size_t adn,
                    const unsigned char *key) {
    if (n < NONCE + TAG) return -1;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL, NULL, in + NONCE, n - NONCE, ad, adn, in, key);
}
static void keyed_hash(unsigned char *out, size_t outn, const unsigned char *in, size_t n, const unsigned char *key) {
    crypto_generichash(out, outn, in, n, key, KEY);
}
/* The 40-bit mask hiding a row id inside an append-layout token: keyed BLAKE2b of the token's random part. */
static uint64_t mask_of(const unsigned char *r) {
    unsigned char h[LOOKUP];
    keyed_hash(h, sizeof h, r, R, lookup_key);
    uint64_t m = 0;
    for (int i = 0; i < ID; i++) m = m << 8 | h[i];
    return m;
}
static uint64_t masked_id(const unsigned char *token) {
    uint64_t m = 0;
    for (int i = 0; i < ID; i++) m = m << 8 | token[R + i];
    return m ^ mask_of(token);
}

/* cvault's audit-time format, YYYY-MM-DDTHH:MM:SSZ (VaultClock.iso8601). */
static void iso8601(char out[21]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The audit chain, as cvault keeps it (Sources/VaultCore/Audit/AuditChain.swift): record n stores the hash of
 * record n-1 and BLAKE2b-256(prev || body); the head is signed with Ed25519 every SEAL_EVERY records or once a
 * second, over "cvault.audit.seal.v1" || 0x00 || seq (8 bytes big-endian) || hash. */
struct chain {
    sqlite3_stmt *insert, *insert_seal;
    long long seq, sealed_seq;
    double sealed_at;
    unsigned char head[32];
};

static void append_audit(struct chain *c, const char *body, size_t n) {
    unsigned char next[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof next);
    crypto_generichash_update(&st, c->head, sizeof c->head);
    crypto_generichash_update(&st, (const unsigned char *)body, n);
    crypto_generichash_final(&st, next, sizeof next);
    c->seq++;
    sqlite3_bind_int64(c->insert, 1, c->seq);
    sqlite3_bind_blob(c->insert, 2, c->head, sizeof c->head, SQLITE_STATIC);
    sqlite3_bind_blob(c->insert, 3, next, sizeof next, SQLITE_STATIC);
    sqlite3_bind_text(c->insert, 4, body, (int)n, SQLITE_STATIC);
    step_done(c->insert, "insert audit record");
    memcpy(c->head, next, sizeof next);

    double t = now();
    if (c->seq - c->sealed_seq >= SEAL_EVERY || t - c->sealed_at >= 1.0) {
        static const char label[] = "cvault.audit.seal.v1";
        unsigned char message[sizeof label + 8 + 32], signature[crypto_sign_BYTES];
        memcpy(message, label, sizeof label); /* includes the 0x00 separator */
        for (int i = 0; i < 8; i++) message[sizeof label + i] = (unsigned char)((uint64_t)c->seq >> (56 - 8 * i));
        memcpy(message + sizeof label + 8, c->head, 32);
        crypto_sign_detached(signature, NULL, message, sizeof message, sign_sk);
        sqlite3_bind_int64(c->insert_seal, 1, c->seq);
        sqlite3_bind_blob(c->insert_seal, 2, c->head, 32, SQLITE_STATIC);
        sqlite3_bind_blob(c->insert_seal, 3, signature, sizeof signature, SQLITE_STATIC);
        sqlite3_bind_int64(c->insert_seal, 4, (sqlite3_int64)time(NULL));
        step_done(c->insert_seal, "insert audit seal");
        c->sealed_seq = c->seq;
        c->sealed_at = t;
    }
}

/* Appends to buf at *at, failing rather than truncating: a cut record would be cheaper than cvault's. */
static void put(char *buf, size_t cap, size_t *at, const char *text) {
    size_t n = strlen(text);
    if (*at + n >= cap) fail("audit record larger than its buffer");
    memcpy(buf + *at, text, n);
    *at += n;
    buf[*at] = 0;
}

static void run(const char *layout, long values, long batch, long per_call, const char *dir) {
    int append = !strcmp(layout, "append");
    char path[4096];
    if (snprintf(path, sizeof path, "%s/cvault-limit-%d-%s.db", dir, (int)getpid(), layout) >= (int)sizeof path)
        fail("folder name too long");
    check(sqlite3_open(path, &db), "open");
    /* cvault's writer connection settings, in its order (ConnectionSetup.swift). */
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    exec("PRAGMA secure_delete=ON");
    exec("PRAGMA temp_store=MEMORY");
    exec("PRAGMA cache_size=-65536");
    exec("PRAGMA wal_autocheckpoint=10000");
    /* The columns cvault's tables have that cost bytes on every row; STRICT, as cvault's tables are. */
    exec("CREATE TABLE subjects(id INTEGER PRIMARY KEY, kek_version INTEGER NOT NULL, wrapped_key BLOB NOT NULL)"
         " STRICT");
    exec(append ? "CREATE TABLE tokens(id INTEGER PRIMARY KEY, lookup BLOB NOT NULL,"
                  " subject_id INTEGER NOT NULL REFERENCES subjects(id), sealed BLOB NOT NULL) STRICT"
                : "CREATE TABLE tokens(lookup BLOB PRIMARY KEY,"
                  " subject_id INTEGER NOT NULL REFERENCES subjects(id), sealed BLOB NOT NULL) WITHOUT ROWID, STRICT");
    exec("CREATE TABLE audit(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL, hash BLOB NOT NULL, body TEXT NOT NULL)"
         " STRICT");
    exec("CREATE TABLE audit_seals(seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, signature BLOB NOT NULL,"
         " at INTEGER NOT NULL) STRICT");
    sqlite3_stmt *insert_subject = prepare("INSERT INTO subjects VALUES(?,1,?)");
    sqlite3_stmt *insert_token =
        prepare(append ? "INSERT INTO tokens VALUES(?,?,?,?)" : "INSERT INTO tokens VALUES(?,?,?)");
    sqlite3_stmt *select = prepare(
        append ? "SELECT s.wrapped_key, t.sealed, t.subject_id, t.lookup FROM tokens t JOIN subjects s"
                 " ON s.id = t.subject_id WHERE t.id = ?"
               : "SELECT s.wrapped_key, t.sealed, t.subject_id FROM tokens t JOIN subjects s"
                 " ON s.id = t.subject_id WHERE t.lookup = ?");
    sqlite3_stmt *savepoint = prepare("SAVEPOINT job"), *release = prepare("RELEASE job");
    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE"), *commit = prepare("COMMIT");

    unsigned char dek[KEY], value[VALUE], wrapped[NONCE + KEY + TAG], sealed[NONCE + VALUE + TAG];
    unsigned char lookup[LOOKUP];
    memset(value, 'v', VALUE);
    /* Single-value calls change subject every SUBJECT_EVERY values; a larger call is one subject's values. */
    long subject_every = per_call > 1 ? per_call : SUBJECT_EVERY;
    long detokenized = values < DETOKENIZE_MAX ? values : DETOKENIZE_MAX;
    unsigned char (*kept)[TOKEN] = malloc((size_t)values * TOKEN);
    if (!kept) fail("out of memory");

    /* Tokenize: BATCH values per durable commit, one savepoint per call of PER_CALL values. */
    double t0 = now();
    for (long i = 0, subject = 0; i < values;) {
        step_done(begin, "begin");
        for (long j = 0; j < batch && i < values; j++, i++) {
            if (i % per_call == 0) step_done(savepoint, "savepoint");
            if (i % subject_every == 0) {
                subject++;
                crypto_aead_xchacha20poly1305_ietf_keygen(dek);
                seal(wrapped, dek, KEY, &subject, sizeof subject, kek);
                sqlite3_bind_int64(insert_subject, 1, subject);
                sqlite3_bind_blob(insert_subject, 2, wrapped, sizeof wrapped, SQLITE_STATIC);
                step_done(insert_subject, "insert subject");
            }
            unsigned char *token = kept[i];
            if (append) {
                uint64_t id = (uint64_t)i + 1, masked;
                randombytes_buf(token, R);
                masked = id ^ mask_of(token);
                for (int b = 0; b < ID; b++) token[R + b] = (unsigned char)(masked >> (8 * (ID - 1 - b)));
            } else {
                randombytes_buf(token, TOKEN);
            }
            keyed_hash(lookup, sizeof lookup, token, TOKEN, lookup_key);
            seal(sealed, value, VALUE, token, TOKEN, dek);
            int col = 1;
            if (append) sqlite3_bind_int64(insert_token, col++, (sqlite3_int64)i + 1);
            sqlite3_bind_blob(insert_token, col++, lookup, sizeof lookup, SQLITE_STATIC);
            sqlite3_bind_int64(insert_token, col++, subject);
            sqlite3_bind_blob(insert_token, col, sealed, sizeof sealed, SQLITE_STATIC);
            step_done(insert_token, "insert token");
            if ((i + 1) % per_call == 0 || i + 1 == values || j + 1 == batch) step_done(release, "release");
        }
        step_done(commit, "commit");
    }
    double tokenize_rate = (double)values / (now() - t0);

    /* Detokenize: random tokens from those made above, BATCH values per durable commit, each call of PER_CALL
     * values judged, opened and recorded in one audit record inside its own savepoint. */
    struct chain chain = {
        .insert = prepare("INSERT INTO audit VALUES(?,?,?,?)"),
        .insert_seal = prepare("INSERT INTO audit_seals VALUES(?,?,?,?)"),
        .sealed_at = now(),
    };
    size_t body_cap = 512 + (size_t)per_call * 96;
    char *body = malloc(body_cap);
    if (!body) fail("out of memory");
    t0 = now();
    for (long k = 0; k < detokenized;) {
        step_done(begin, "begin");
        for (long j = 0; j < batch && k < detokenized;) {
            step_done(savepoint, "savepoint");
            long count = per_call < detokenized - k ? per_call : detokenized - k;
            if (count > batch - j) count = batch - j;
            char at[21], head[256];
            iso8601(at);
            size_t n = 0;
            body[0] = 0;
            /* cvault's canonical audit JSON has its keys sorted; seq is filled in as the chain's next. */
            snprintf(head, sizeof head,
                     "{\"at\":\"%s\",\"count\":%ld,\"event\":\"detokenize\",\"identity\":\"bench\",\"items\":[",
                     at, count);
            put(body, body_cap, &n, head);
            for (long v = 0; v < count; v++, j++, k++) {
                const unsigned char *token = kept[randombytes_uniform((uint32_t)values)];
                keyed_hash(lookup, sizeof lookup, token, TOKEN, lookup_key);
                if (append) sqlite3_bind_int64(select, 1, (sqlite3_int64)masked_id(token));
                else sqlite3_bind_blob(select, 1, lookup, sizeof lookup, SQLITE_STATIC);
                if (sqlite3_step(select) != SQLITE_ROW) fail("a token made above was not found");
                long long subject = sqlite3_column_int64(select, 2);
                if ((append && (sqlite3_column_bytes(select, 3) != LOOKUP ||
                                sodium_memcmp(sqlite3_column_blob(select, 3), lookup, LOOKUP))) ||
                    open_box(dek, sqlite3_column_blob(select, 0), (size_t)sqlite3_column_bytes(select, 0), &subject,
                             sizeof subject, kek) ||
                    open_box(value, sqlite3_column_blob(select, 1), (size_t)sqlite3_column_bytes(select, 1), token,
                             TOKEN, dek))
                    fail("authentication failed");
                sqlite3_reset(select);
                /* Each token is named by its keyed audit reference, never as itself (Binding.auditReference). */
                unsigned char reference[LOOKUP];
                char item[128], hex[2 * LOOKUP + 1];
                keyed_hash(reference, sizeof reference, token, TOKEN, reference_key);
                sodium_bin2hex(hex, sizeof hex, reference, sizeof reference);
                snprintf(item, sizeof item, "%s{\"decision\":\"plain\",\"kind\":\"text\",\"token\":\"ref:%s\"}",
                         v ? "," : "", hex);
                put(body, body_cap, &n, item);
            }
            snprintf(head, sizeof head,
                     "],\"outcome\":\"ok\",\"purpose\":\"bench\",\"roles\":[\"bench\"],\"seq\":%lld,\"uid\":%d}",
                     chain.seq + 1, (int)getuid());
            put(body, body_cap, &n, head);
            append_audit(&chain, body, n);
            step_done(release, "release");
        }
        step_done(commit, "commit");
    }
    double detokenize_rate = (double)detokenized / (now() - t0);

    printf("limit %s tokenize values_per_s %.0f  (values=%ld batch=%ld per_call=%ld synchronous=FULL)\n", layout,
           tokenize_rate, values, batch, per_call);
    printf("limit %s detokenize values_per_s %.0f  (values=%ld over %ld rows, one audit record per call of %ld,"
           " batch=%ld per durable commit)\n",
           layout, detokenize_rate, detokenized, values, per_call, batch);
    fflush(stdout);

    sqlite3_stmt *all[] = {insert_subject, insert_token, select, savepoint, release, begin, commit,
                           chain.insert, chain.insert_seal};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sqlite3_finalize(all[i]);
    sqlite3_close(db);
    /* The database and its WAL and shared-memory files go: the temp folder is measured, not filled. */
    char side[4100];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    sodium_memzero(dek, sizeof dek);
    free(body);
    free(kept);
}

/* A positive count, or exit 2: a limit run with nonsense sizes must not print a figure. */
static long count_arg(const char *text, long max) {
    char *end;
    long n = strtol(text, &end, 10);
    if (*text == 0 || *end != 0 || n < 1 || n > max) {
        fprintf(stderr, "limit: %s is not a count from 1 to %ld\n", text, max);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: limit VALUES BATCH DIR [index|append|both] [PER_CALL]\n");
        return 2;
    }
    /* VALUES at most 2^32 - 1: randombytes_uniform picks tokens by a 32-bit index, and ids fit in 40 bits. */
    long values = count_arg(argv[1], 4294967295L);
    long batch = count_arg(argv[2], 1000000);
    const char *dir = argv[3];
    const char *which = argc > 4 ? argv[4] : "both";
    long per_call = argc > 5 ? count_arg(argv[5], batch) : 1;
    /* A call never spans two commits, as one of cvault's write jobs never does. */
    if (batch % per_call) {
        fprintf(stderr, "limit: BATCH must be a multiple of PER_CALL\n");
        return 2;
    }
    if (strcmp(which, "index") && strcmp(which, "append") && strcmp(which, "both")) {
        fprintf(stderr, "limit: layout must be index, append or both\n");
        return 2;
    }
    if (sodium_init() < 0) fail("libsodium failed to initialize");
    crypto_aead_xchacha20poly1305_ietf_keygen(kek);
    randombytes_buf(lookup_key, KEY);
    randombytes_buf(reference_key, KEY);
    crypto_sign_keypair(sign_pk, sign_sk);
    if (strcmp(which, "append")) run("index", values, batch, per_call, dir);
    if (strcmp(which, "index")) run("append", values, batch, per_call, dir);
    sodium_memzero(sign_sk, sizeof sign_sk);
    return 0;
}
