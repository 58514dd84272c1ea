/* records — the stored record kinds, their msgpack codecs and key builders.
 *
 * Every value is a msgpack array whose first element is the record's schema
 * version; fields follow in a fixed order and new fields are only ever
 * appended, so a decoder reads old records (missing trailing fields take
 * their default: zero unless the field names another) and records written
 * by a newer version with extra fields. Each kind has its own version
 * (tenant, user and event 2, the others 1); docs/storage.md lists the fields of
 * each version. A record is written at its kind's current version only
 * when it changes: old records are never rewritten just to upgrade them.
 */
#ifndef PARLEY_RECORDS_H
#define PARLEY_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define REC_NAME_MAX    128
#define REC_EMAIL_MAX   254
#define REC_SLUG_MAX    48
#define REC_KEY_MAX     48
#define REC_ORIGINS_MAX 1024
#define REC_TEXT_MAX    8000
#define REC_CLIENT_ID_MAX 64
#define REC_PREVIEW_MAX 140
#define REC_ROLE_MAX    16
#define REC_HASH_MAX    128
#define REC_URL_MAX     512
#define REC_COLOR_MAX   7      /* "#rrggbb" */
#define REC_GREETING_MAX 500
#define REC_POSITION_MAX 5     /* "right" | "left" */
#define REC_TZ_MAX      64     /* an IANA zone name (core/tz.h TZ_NAME_MAX) */
#define REC_FILE_NAME_MAX 255  /* a file's name as uploaded (no path) */
#define REC_FTYPE_MAX   8      /* a file type's short name: "jpeg", "docx", … */
#define REC_FILES_MAX   10     /* files one message may carry */
#define REC_HOST_MAX    253    /* a DNS name, or an IP address */
#define REC_SEALED_MAX  384    /* a sealed secret of up to 256 bytes (core/secretbox.h) */
#define REC_HINT_MAX    8      /* the last characters of an API key's secret */
#define REC_WEBHOOK_URL_MAX 2048
#define REC_SECRET_MAX  64
#define REC_ERROR_MAX   200
#define REC_DESC_MAX    500    /* a department's description */
#define REC_HOURS_MAX   512    /* business hours, canonical text (core/hours.h) */
#define REC_REASON_MAX  500    /* a transfer's reason */
#define REC_ADDR_MAX    45     /* an IPv4 or IPv6 address as text */
#define REC_ACTION_MAX  48     /* an audit action: "department.update", … */
#define REC_AUDIT_MAX   1024   /* an audit row's details (JSON) */
#define REC_IDS_MAX     20     /* ids a list field holds (a conversation's tags, a note's mentions) */
#define REC_PHONE_MAX   32
#define REC_NOTES_MAX   2000   /* a visitor's notes */
#define REC_EXTID_MAX   128    /* the embedding site's user id of a visitor */
#define REC_SHORTCODE_MAX 32   /* a canned response's shortcode, without the "/" */
#define REC_CANNED_MAX  4000   /* a canned response's body */
#define REC_COMMENT_MAX 1000   /* a rating's comment */
#define REC_ATTRKEY_MAX 64     /* a custom attribute's key */
#define REC_PAGE_URL_MAX 2048  /* a tracked page's URL (longer ones are stored truncated) */
#define REC_PAGE_TITLE_MAX 256 /* a tracked page's title (the same) */
#define REC_LANG_MAX    35     /* a BCP 47 language tag */
#define REC_UA_NAME_MAX 24     /* a browser's or a system's name (core/ua.h UA_NAME_MAX) */
#define REC_SCREEN_MAX  11     /* "<width>x<height>" */

enum conv_status { CS_OPEN = 0, CS_WAITING, CS_PENDING, CS_SNOOZED, CS_RESOLVED, CS_CLOSED, CS__COUNT };
enum conv_priority { CP_LOW = 0, CP_MEDIUM, CP_HIGH, CP_URGENT, CP__COUNT };
enum ev_kind { EK_CREATED = 0, EK_MESSAGE, EK_NOTE, EK_STATUS, EK_ASSIGNED,
	       EK_TRANSFER,   /* v3: to an agent and/or a department, with a reason (text) */
	       EK_PRIORITY,   /* v3: new priority (priority) */
	       EK_TAG,        /* v4: tag_id added (flag) or removed (!flag); agents only */
	       EK_RATING,     /* v4: the visitor rated (score, comment in text) */
	       EK_PROFILE,    /* v4: the visitor's profile changed (text: JSON of the change); agents only */
	       EK_ATTRS,      /* v4: the conversation's custom attributes changed (text: JSON); agents only */
	       EK__COUNT };

/* Bytes of any length inside a record (an outbox payload). Encoders take
 * them from p; decoders leave p pointing into the stored value they read
 * (NULL when n is 0): valid only while that value is, i.e. until the
 * transaction that read it ends. */
typedef struct {
	const uint8_t *p;
	size_t n;
} rec_bytes;

/* A list of ids inside a record (msgpack array of uints). */
typedef struct {
	uint8_t n;
	uint64_t v[REC_IDS_MAX];
} rec_ids;
enum sender_type { ST_VISITOR = 0, ST_AGENT, ST_SYSTEM, ST__COUNT };

typedef struct {
	uint64_t id;
	char name[REC_NAME_MAX + 1];
	char slug[REC_SLUG_MAX + 1];
	char widget_key[REC_KEY_MAX + 1];
	char origins[REC_ORIGINS_MAX + 1];   /* comma-separated; "*" = any */
	int64_t created_ms;
	/* v2 */
	char widget_color[REC_COLOR_MAX + 1];      /* default "#1f6feb" */
	char greeting[REC_GREETING_MAX + 1];       /* default "" */
	char widget_position[REC_POSITION_MAX + 1];/* "right" (default) | "left" */
	char timezone[REC_TZ_MAX + 1];             /* default "UTC" */
	/* v3 */
	uint64_t auto_close_s;                     /* close after this long without activity; 0 = never */
	/* v4: agent tools and tracking */
	uint8_t prechat_name, prechat_email, prechat_phone, prechat_question; /* enum prechat_mode */
	bool transcript_on_close;                  /* email the visitor the transcript when closed */
	uint64_t rating_window_s;                  /* 0 = the default, 7 days */
	bool tracking_off;                         /* page views not recorded */
	bool keep_query;                           /* stored page URLs keep their query strings */
	uint64_t pageview_keep_days;               /* 0 = the default, 90 */
	char identity_secret[REC_SEALED_MAX + 1];  /* sealed HMAC key of visitor identity verification; "" = none */
} rec_tenant;

enum prechat_mode { PRE_OFF = 0, PRE_OPTIONAL, PRE_REQUIRED, PRE__COUNT };

typedef struct {
	uint64_t tid, id;
	char email[REC_EMAIL_MAX + 1];       /* lower-case */
	char name[REC_NAME_MAX + 1];
	char role[REC_ROLE_MAX + 1];         /* owner | admin | supervisor | agent */
	char pw_hash[REC_HASH_MAX + 1];
	bool active;
	int64_t created_ms;
	int64_t pw_changed_ms;
	/* v2 */
	char title[REC_NAME_MAX + 1];
	char avatar_url[REC_URL_MAX + 1];
	int64_t deactivated_ms;              /* 0 while active (or deactivated before v2) */
	/* v3 */
	uint64_t max_chats;                  /* capacity: open conversations at once; 0 = the default (--default-capacity) */
} rec_user;

typedef struct {
	uint64_t tid, id;
	char name[REC_NAME_MAX + 1];
	char email[REC_EMAIL_MAX + 1];
	int64_t created_ms;
	/* v2 */
	char phone[REC_PHONE_MAX + 1];
	char notes[REC_NOTES_MAX + 1];       /* agents' notes on the visitor */
	char external_id[REC_EXTID_MAX + 1]; /* the site's user id, when the site passed one */
	bool verified;                       /* external_id came with a valid signature */
	int64_t updated_ms;
} rec_visitor;

typedef struct {
	uint64_t tid, id;
	uint64_t visitor_id;
	char visitor_name[REC_NAME_MAX + 1];
	char visitor_email[REC_EMAIL_MAX + 1];
	uint8_t status;                      /* enum conv_status */
	uint8_t priority;                    /* enum conv_priority */
	uint64_t assignee_id;                /* 0 = unassigned */
	char assignee_name[REC_NAME_MAX + 1];
	uint64_t last_seq;                   /* highest stored event seq */
	uint64_t visitor_delivered_seq, visitor_read_seq;
	uint64_t agent_delivered_seq, agent_read_seq;
	int64_t created_ms, updated_ms, first_response_ms, resolved_ms;
	uint64_t lm_seq;                     /* last visible message: seq, sender, text preview */
	uint8_t lm_sender;
	int64_t lm_ms;
	char lm_text[REC_PREVIEW_MAX + 1];
	/* v3: the support desk */
	uint64_t dept_id;                    /* 0 (records before v3): the tenant's default department */
	bool offline;                        /* waiting while nobody could take it (no member online, or out of hours) */
	int64_t waiting_since_ms;            /* when it entered its department's queue (0: not waiting) */
	int64_t assigned_ms;                 /* when it was last assigned */
	int64_t snooze_until_ms;             /* CS_SNOOZED: back to open at */
	int64_t closed_ms;
	int64_t reopened_ms;                 /* last reopen (first response counts from here) */
	uint64_t first_response_s;           /* from created to the first agent reply; 0 = none yet */
	uint64_t resolution_s;               /* from created to the last resolve */
	int64_t due_ms;                      /* the conversation's entry in DB_DUE (0: none) */
	uint8_t due_kind;                    /* enum due_kind of that entry */
	/* v3: agent tools */
	rec_ids tags;                        /* tag ids, in the order added */
	uint8_t rating;                      /* the visitor's score 1..5; 0 = not rated (once, even across a reopen) */
} rec_conv;

/* What a DB_DUE entry brings about when its time comes. */
enum due_kind { DUE_NONE = 0, DUE_SNOOZE_END, DUE_AUTO_CLOSE, DUE__COUNT };

/* A file a message carries, as the message shows it (the file's own
 * record holds the rest: rec_file). */
typedef struct {
	uint64_t id;
	char name[REC_NAME_MAX + 1];         /* the file's name, cut to 128 bytes */
	char type[REC_FTYPE_MAX + 1];
	uint64_t size;
} rec_fileref;

typedef struct {
	uint8_t n;
	rec_fileref f[REC_FILES_MAX];
} rec_files;

typedef struct {
	uint64_t tid, cid, seq;
	uint8_t kind;                        /* enum ev_kind */
	uint8_t sender_type;                 /* enum sender_type */
	uint64_t sender_id;
	char sender_name[REC_NAME_MAX + 1];
	char client_id[REC_CLIENT_ID_MAX + 1];
	char text[REC_TEXT_MAX + 1];
	uint8_t status;                      /* EK_STATUS: new status */
	uint64_t assignee_id;                /* EK_ASSIGNED */
	char assignee_name[REC_NAME_MAX + 1];
	int64_t created_ms;
	/* v2 */
	rec_files files;                     /* EK_MESSAGE, EK_NOTE: attachments */
	/* v3 */
	uint64_t from_id;                    /* EK_TRANSFER: the previous assignee (0: none) */
	uint64_t dept_id;                    /* EK_TRANSFER: the department after it */
	uint8_t priority;                    /* EK_PRIORITY: new priority */
	char addr[REC_ADDR_MAX + 1];         /* EK_ASSIGNED, EK_TRANSFER: the caller's address */
	/* v4 */
	rec_ids mentions;                    /* EK_NOTE: the agents it mentions */
	uint64_t tag_id;                     /* EK_TAG */
	bool flag;                           /* EK_TAG: added (else removed) */
	uint8_t score;                       /* EK_RATING: 1..5 */
} rec_event;

/* A canned response: tenant-wide (owner_id 0, managed by admins) or an
 * agent's own. */
typedef struct {
	uint64_t tid, id;
	uint64_t owner_id;                   /* 0 = the tenant's */
	char shortcode[REC_SHORTCODE_MAX + 1];   /* lower-case, unique per owner */
	char title[REC_NAME_MAX + 1];
	char body[REC_CANNED_MAX + 1];       /* with {{visitor.name}}-style placeholders */
	int64_t created_ms, updated_ms;
} rec_canned;

/* A tag of a tenant's tag list. */
typedef struct {
	uint64_t tid, id;
	char name[REC_NAME_MAX + 1];         /* unique per tenant, compared case-folded */
	char color[REC_COLOR_MAX + 1];
	int64_t created_ms;
} rec_tag;

enum attr_type { AT_TEXT = 0, AT_NUMBER, AT_BOOLEAN, AT_DATE, AT__COUNT };
enum attr_owner { AO_CONVERSATION = 0, AO_VISITOR, AO__COUNT };

/* A custom attribute definition. */
typedef struct {
	uint64_t tid, id;
	uint8_t owner;                       /* enum attr_owner: what it describes */
	char key[REC_ATTRKEY_MAX + 1];       /* [a-z0-9_], unique per owner kind */
	char label[REC_NAME_MAX + 1];
	uint8_t type;                        /* enum attr_type */
	int64_t created_ms, updated_ms;
} rec_attrdef;

/* The custom attribute values of one conversation or visitor: a JSON
 * object {key: value}, validated against the definitions on write. */
typedef struct {
	uint64_t tid;
	uint8_t owner;                       /* enum attr_owner */
	uint64_t id;                         /* the conversation or visitor */
	int64_t updated_ms;
	rec_bytes json;
} rec_attrs;

/* A visitor's rating of a conversation, with who had it then. */
typedef struct {
	uint64_t tid, cid;
	uint8_t score;                       /* 1..5 */
	char comment[REC_COMMENT_MAX + 1];
	uint64_t visitor_id, agent_id, dept_id;
	int64_t created_ms;
} rec_rating;

/* An alert for the tenant's supervisors (DB_ALERTS; docs/analytics.md). */
enum alert_kind { ALERT_SLA = 0, ALERT_NO_AGENT, ALERT_RATING, ALERT__COUNT };

typedef struct {
	uint64_t tid, id;                    /* id: at_ms << 16 | n (time-ordered) */
	uint8_t kind;                        /* enum alert_kind */
	int64_t at_ms;
	uint64_t cid;                        /* sla, rating: the conversation */
	uint64_t dept_id;                    /* sla, no_agent: the department; rating: the conversation's */
	uint64_t agent_id;                   /* rating: the conversation's agent (0: none) */
	uint8_t score;                       /* rating: 1..5 */
	uint64_t wait_s;                     /* sla: waiting this long when raised */
	char message[REC_ERROR_MAX + 1];     /* what happened, for people */
} rec_alert;

enum routing_policy { RP_OFF = 0, RP_ROUND_ROBIN, RP_LEAST_BUSY, RP__COUNT };

/* A department of a tenant. Its members are rows of DB_DEPT_MEMBERS. */
typedef struct {
	uint64_t tid, id;
	char name[REC_NAME_MAX + 1];
	char slug[REC_SLUG_MAX + 1];
	char description[REC_DESC_MAX + 1];
	char notify_email[REC_EMAIL_MAX + 1];   /* offline emails; "" = none */
	bool active;
	bool is_default;                        /* exactly one per tenant: new conversations without a choice */
	uint64_t sort_order;
	char timezone[REC_TZ_MAX + 1];          /* IANA zone of the hours */
	char hours[REC_HOURS_MAX + 1];          /* canonical business hours (core/hours.h); "" = always open */
	uint8_t routing;                        /* enum routing_policy */
	uint64_t sla_medium_s;                  /* waiting this long: priority at least medium (default 60) */
	uint64_t sla_high_s;                    /* … at least high (default 180) */
	int64_t created_ms, updated_ms;
} rec_dept;

enum presence_state { PR_OFFLINE = 0, PR_ONLINE, PR_AWAY, PR__COUNT };

/* A change of an agent's presence: the state from at_ms on. */
typedef struct {
	uint64_t tid, uid;
	int64_t at_ms;
	uint8_t state;                          /* enum presence_state */
} rec_presence;

/* One row of a tenant's audit log: who did what to which record, when,
 * from where. Append-only. */
typedef struct {
	uint64_t tid, id;                       /* id: time-ordered */
	int64_t at_ms;
	uint8_t actor_kind;                     /* enum principal_kind (actors/kit/auth.h); system = 0xff */
	uint64_t actor_id;
	char actor_name[REC_NAME_MAX + 1];
	char action[REC_ACTION_MAX + 1];        /* "user.role", "department.create", "conversation.transfer", … */
	char record_type[REC_ACTION_MAX + 1];   /* "user", "department", "conversation", "tenant", … */
	uint64_t record_id;
	char addr[REC_ADDR_MAX + 1];            /* the peer's address (or X-Forwarded-For from a trusted proxy) */
	char details[REC_AUDIT_MAX + 1];        /* JSON object: what changed */
} rec_audit;

/* An uploaded file: its metadata; the bytes are a blob (tid, sha256). */
typedef struct {
	uint64_t tid, id;
	uint64_t cid;                        /* the conversation it was uploaded to */
	uint8_t uploader_type;               /* enum sender_type */
	uint64_t uploader_id;
	char name[REC_FILE_NAME_MAX + 1];
	char type[REC_FTYPE_MAX + 1];        /* decided from the bytes */
	uint64_t size;
	uint8_t sha256[32];
	int64_t created_ms;
} rec_file;

/* A stored blob of a tenant, named by its content. */
typedef struct {
	uint64_t tid;
	uint8_t sha256[32];
	uint64_t size;
	int64_t created_ms;
} rec_blob;

/* What a tenant stores. */
typedef struct {
	uint64_t tid;
	uint64_t bytes;                      /* of its blobs */
	uint64_t files;                      /* file records */
	uint64_t blobs;
} rec_usage;

typedef struct {
	uint64_t tid, cursor;
	uint8_t type;                        /* enum inbox_type */
	uint64_t cid;
	int64_t created_ms;
} rec_inbox;

enum inbox_type { IB_CREATED = 0, IB_UPDATED, IB__COUNT };

typedef struct {
	uint64_t tid, uid;
	uint8_t hash[32];                    /* sha256 of the token (the key) */
	uint64_t family;
	int64_t expires_ms;
	bool used;                           /* rotated: presenting it again is reuse */
} rec_refresh;

typedef struct {
	uint64_t tid, id;
	uint64_t uid;
	bool revoked;
	int64_t created_ms;
} rec_family;

enum invite_purpose { INV_INVITE = 0, INV_RESET, INV__COUNT };

/* A single-use token that lets its holder set a user's password: an
 * invitation, or a reset. */
typedef struct {
	uint64_t tid, uid;
	uint8_t hash[32];                    /* sha256 of the token (the key) */
	uint8_t purpose;                     /* enum invite_purpose */
	int64_t expires_ms;
	bool used;
	int64_t created_ms;
} rec_invite;

enum smtp_security { SMTP_STARTTLS = 0, SMTP_TLS, SMTP_PLAIN, SMTP__COUNT };

/* A tenant's outgoing email: the SMTP server it sends through and where
 * its notifications go. The password is stored sealed (core/secretbox.h,
 * bound to the tenant id), never in the clear. */
typedef struct {
	uint64_t tid;
	char host[REC_HOST_MAX + 1];         /* "" = no SMTP server: nothing is sent */
	uint64_t port;                       /* 1..65535 */
	uint8_t security;                    /* enum smtp_security */
	char username[REC_EMAIL_MAX + 1];    /* "" = no authentication */
	char password[REC_SEALED_MAX + 1];   /* sealed; "" = none */
	char from[REC_EMAIL_MAX + 1];        /* the sender address */
	char notify[REC_EMAIL_MAX + 1];      /* new-conversation notifications; "" = none */
	int64_t updated_ms;
} rec_email;

/* A webhook endpoint of a tenant. */
typedef struct {
	uint64_t tid, id;
	char url[REC_WEBHOOK_URL_MAX + 1];   /* http(s)://… */
	char description[REC_NAME_MAX + 1];
	uint64_t events;                     /* bit 1 << enum ev_type (actors/kit/emit.h) */
	bool active;
	char secret[REC_SECRET_MAX + 1];     /* the HMAC key of the signatures */
	int64_t created_ms, updated_ms;
} rec_webhook;

/* What an outbox entry is for: who delivers it and what `target` names. */
enum outbox_kind { OBK_WEBHOOK = 0, OBK_EMAIL, OBK__COUNT };

/* Work for the outside world, written in the transaction of the event
 * that causes it and deleted when it is done (delivered, or given up). */
typedef struct {
	uint64_t tid, id;                    /* id: the delivery id, time-ordered */
	uint8_t kind;                        /* enum outbox_kind */
	uint64_t target;                     /* OBK_WEBHOOK: the endpoint id */
	uint8_t event;                       /* enum ev_type */
	uint64_t cid, seq;                   /* the conversation and its seq (0 for none) */
	int64_t created_ms;
	uint64_t attempts;                   /* made so far */
	int64_t next_attempt_ms;             /* not before */
	int64_t last_status;                 /* the last attempt's status code (0: none or no answer) */
	char last_error[REC_ERROR_MAX + 1];
	rec_bytes payload;                   /* the body, built when the entry was made */
} rec_outbox;

/* The outcome of one attempt in the delivery log. */
enum outbox_result {
	OBR_OK = 0,        /* delivered (2xx) */
	OBR_RETRY,         /* failed; tried again at next_attempt_ms */
	OBR_PARKED,        /* failed past the horizon: given up, the next one goes */
	OBR_DROPPED,       /* an alert: entries were dropped, the tenant's outbox was full */
	OBR__COUNT
};

/* One row of a tenant's delivery log. */
typedef struct {
	uint64_t tid, id;
	uint64_t delivery;                   /* the entry's id (0 for a drop alert) */
	uint8_t kind;                        /* enum outbox_kind */
	uint64_t target;
	uint8_t event;                       /* enum ev_type */
	uint64_t cid, seq;
	uint64_t attempt;                    /* 1 for the first */
	uint8_t result;                      /* enum outbox_result */
	int64_t status_code;                 /* 0: no answer */
	int64_t latency_ms;
	char error[REC_ERROR_MAX + 1];
	int64_t created_ms;
	int64_t next_attempt_ms;             /* OBR_RETRY */
	rec_bytes payload;                   /* what was sent (for a redelivery) */
} rec_outbox_log;

/* A tenant's outbox figures. */
typedef struct {
	uint64_t tid;
	uint64_t pending;                    /* entries in the outbox */
	uint64_t dropped;                    /* entries dropped over the quota, ever */
	uint64_t log_rows;                   /* rows in the delivery log */
	int64_t last_alert_ms;               /* the last drop alert written to the log */
} rec_outbox_count;

/* API key scopes (stored as a byte): what a key may do maps onto the
 * permission table (actors/kit/perm.h). */
enum apikey_scope { KS_NONE = 0, KS_READ, KS_WRITE, KS_ADMIN, KS__COUNT };

/* An API key of a tenant: server-to-server access with a scope. Its
 * secret is never stored, only its SHA-256 (the key of its index). */
typedef struct {
	uint64_t tid, id;
	char name[REC_NAME_MAX + 1];
	uint8_t scope;                       /* enum apikey_scope */
	uint8_t hash[32];                    /* sha256 of the secret */
	char hint[REC_HINT_MAX + 1];         /* the secret's last characters, to tell keys apart */
	uint64_t created_by;                 /* the user (or key) that made it */
	char created_by_name[REC_NAME_MAX + 1];
	bool created_by_key;                 /* created_by is an API key, not a user */
	int64_t created_ms;
	int64_t expires_ms;                  /* 0 = never */
	bool revoked;
	int64_t revoked_ms;
	int64_t last_used_ms;                /* 0 = never; written at most once a minute */
} rec_apikey;

/* One page view a visitor's widget reported (visitor tracking). */
typedef struct {
	uint64_t tid, id;                    /* id time-ordered (core/id.h) */
	uint64_t visitor_id, session_id;
	int64_t at_ms;
	char url[REC_PAGE_URL_MAX + 1];      /* without query (unless the tenant keeps it) and fragment */
	char title[REC_PAGE_TITLE_MAX + 1];
	char referrer[REC_PAGE_URL_MAX + 1];
} rec_pageview;

/* A visitor's session on the embedding site: page views with no gap
 * of 30 minutes. */
typedef struct {
	uint64_t tid, id;                    /* id time-ordered: the session's start */
	uint64_t visitor_id;
	int64_t started_ms, last_ms;
	uint64_t pages;                      /* page views reported */
	uint64_t stored;                     /* page views stored (at most the per-session cap) */
	char url[REC_PAGE_URL_MAX + 1];      /* the current page */
	char title[REC_PAGE_TITLE_MAX + 1];
	char referrer[REC_PAGE_URL_MAX + 1]; /* the landing page's referrer */
	uint8_t device;                      /* enum ua_device (core/ua.h) */
	char browser[REC_UA_NAME_MAX + 1];
	uint64_t browser_major;
	char os[REC_UA_NAME_MAX + 1];
	char lang[REC_LANG_MAX + 1];
	char screen[REC_SCREEN_MAX + 1];
} rec_vsession;

/* A counter of the tracking figures (a day's page views of one page, …). */
typedef struct {
	uint64_t count;
	char name[REC_PAGE_URL_MAX + 1];     /* what is counted: a page's URL, a referrer's host, a browser, … */
} rec_vcount;

/* Encoders append one msgpack value to out, [version of its kind, field...]:
 * 0 or -1 (OOM). */
int rec_tenant_encode(const rec_tenant *r, buf *out);
int rec_user_encode(const rec_user *r, buf *out);
int rec_visitor_encode(const rec_visitor *r, buf *out);
int rec_conv_encode(const rec_conv *r, buf *out);
int rec_event_encode(const rec_event *r, buf *out);
int rec_inbox_encode(const rec_inbox *r, buf *out);
int rec_refresh_encode(const rec_refresh *r, buf *out);
int rec_family_encode(const rec_family *r, buf *out);
int rec_invite_encode(const rec_invite *r, buf *out);
int rec_file_encode(const rec_file *r, buf *out);
int rec_blob_encode(const rec_blob *r, buf *out);
int rec_usage_encode(const rec_usage *r, buf *out);
int rec_email_encode(const rec_email *r, buf *out);
int rec_apikey_encode(const rec_apikey *r, buf *out);
int rec_webhook_encode(const rec_webhook *r, buf *out);
int rec_outbox_encode(const rec_outbox *r, buf *out);
int rec_outbox_log_encode(const rec_outbox_log *r, buf *out);
int rec_outbox_count_encode(const rec_outbox_count *r, buf *out);
int rec_dept_encode(const rec_dept *r, buf *out);
int rec_presence_encode(const rec_presence *r, buf *out);
int rec_audit_encode(const rec_audit *r, buf *out);
int rec_canned_encode(const rec_canned *r, buf *out);
int rec_tag_encode(const rec_tag *r, buf *out);
int rec_attrdef_encode(const rec_attrdef *r, buf *out);
int rec_attrs_encode(const rec_attrs *r, buf *out);
int rec_rating_encode(const rec_rating *r, buf *out);
int rec_pageview_encode(const rec_pageview *r, buf *out);
int rec_vsession_encode(const rec_vsession *r, buf *out);
int rec_vcount_encode(const rec_vcount *r, buf *out);
int rec_alert_encode(const rec_alert *r, buf *out);

/* Decoders fill *r from bytes: 0 or STORE_ECORRUPT. Fields the record does
 * not hold (written by an older version) take their defaults: zero, or the
 * default named for that field (rec_*_init). Key-derived fields (tid, ids,
 * seq) are filled by the decoders from the record where stored and
 * otherwise left for the caller. */
int rec_tenant_decode(const void *p, size_t n, rec_tenant *r);
int rec_user_decode(const void *p, size_t n, rec_user *r);
int rec_visitor_decode(const void *p, size_t n, rec_visitor *r);
int rec_conv_decode(const void *p, size_t n, rec_conv *r);
int rec_event_decode(const void *p, size_t n, rec_event *r);
int rec_inbox_decode(const void *p, size_t n, rec_inbox *r);
int rec_refresh_decode(const void *p, size_t n, rec_refresh *r);
int rec_family_decode(const void *p, size_t n, rec_family *r);
int rec_invite_decode(const void *p, size_t n, rec_invite *r);
int rec_file_decode(const void *p, size_t n, rec_file *r);
int rec_blob_decode(const void *p, size_t n, rec_blob *r);
int rec_usage_decode(const void *p, size_t n, rec_usage *r);
int rec_email_decode(const void *p, size_t n, rec_email *r);
int rec_apikey_decode(const void *p, size_t n, rec_apikey *r);
int rec_webhook_decode(const void *p, size_t n, rec_webhook *r);
int rec_outbox_decode(const void *p, size_t n, rec_outbox *r);
int rec_outbox_log_decode(const void *p, size_t n, rec_outbox_log *r);
int rec_outbox_count_decode(const void *p, size_t n, rec_outbox_count *r);
int rec_dept_decode(const void *p, size_t n, rec_dept *r);
int rec_presence_decode(const void *p, size_t n, rec_presence *r);
int rec_audit_decode(const void *p, size_t n, rec_audit *r);
int rec_canned_decode(const void *p, size_t n, rec_canned *r);
int rec_tag_decode(const void *p, size_t n, rec_tag *r);
int rec_attrdef_decode(const void *p, size_t n, rec_attrdef *r);
int rec_attrs_decode(const void *p, size_t n, rec_attrs *r);
int rec_rating_decode(const void *p, size_t n, rec_rating *r);
int rec_pageview_decode(const void *p, size_t n, rec_pageview *r);
int rec_vsession_decode(const void *p, size_t n, rec_vsession *r);
int rec_vcount_decode(const void *p, size_t n, rec_vcount *r);
int rec_alert_decode(const void *p, size_t n, rec_alert *r);

/* Zero *r, then set the fields that have a default (tenant v2: widget
 * colour, position, time zone): a new record before its values are set. */
void rec_tenant_init(rec_tenant *r);
void rec_user_init(rec_user *r);

/* Names on the wire. */
const char *rec_status_name(int s);
int rec_status_parse(const char *s);     /* -1 if unknown */
const char *rec_priority_name(int p);
int rec_priority_parse(const char *s);   /* -1 if unknown */
const char *rec_routing_name(int r);     /* "off" | "round_robin" | "least_busy"; "" if unknown */
int rec_routing_parse(const char *s);    /* -1 if unknown */
const char *rec_presence_name(int p);    /* "offline" | "online" | "away"; "" if unknown */
int rec_presence_parse(const char *s);   /* -1 if unknown */
const char *rec_attr_type_name(int t);   /* "text" | "number" | "boolean" | "date"; "" if unknown */
int rec_attr_type_parse(const char *s);  /* -1 if unknown */
const char *rec_prechat_name(int m);     /* "off" | "optional" | "required"; "" if unknown */
int rec_prechat_parse(const char *s);    /* -1 if unknown */
const char *rec_kind_name(int k);
const char *rec_sender_name(int s);
const char *rec_security_name(int s);
int rec_security_parse(const char *s);   /* -1 if unknown */
const char *rec_scope_name(int s);       /* "read" | "write" | "admin"; "" if unknown */
int rec_scope_parse(const char *s);      /* KS_NONE if unknown */

/* Key builders: write big-endian ids into k and return the key length. */
size_t rec_key1(uint8_t k[8], uint64_t a);
size_t rec_key2(uint8_t k[16], uint64_t a, uint64_t b);
size_t rec_key3(uint8_t k[24], uint64_t a, uint64_t b, uint64_t c);
/* tid · a 32-byte hash: the key of the records found by a token's SHA-256. */
size_t rec_key_hash(uint8_t k[40], uint64_t tid, const uint8_t hash[32]);

/* Copies s into a fixed field of cap bytes (incl. NUL), truncating at a
 * UTF-8 character boundary. */
void rec_strcpy(char *dst, size_t cap, const char *s, size_t len);

#endif
