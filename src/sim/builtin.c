/*
 * builtin.c - mail of no family: one-off spam ("unknown") and legitimate
 * mail ("legit"), built from parts chosen at random per session.
 *
 * Unknown spam must not look like a family: each session draws its HELO
 * shape, command syntax, Message-ID shape, Date format, mailer and header
 * order independently, and each message its own topic and URL domain.
 * Legitimate mail comes from a handful of mail user agents as they wrote
 * headers around 2011 (Thunderbird, Outlook, Apple Mail, webmail, list
 * servers, notification systems), sent by MTAs that often use STARTTLS.
 * All shapes are illustrative. Every domain is under a reserved name
 * (RFC 2606: example, example.com/net/org, test).
 */
#include <string.h>

#include "sim/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct tlist {
	struct tpl **t;
	size_t n;
};

struct builtin {
	/* unknown: parts */
	struct tlist helo, mail, rcpt, from, msgid, date, mailer, extra, fromhdr, tohdr, boundary;
	const char **greets;
	size_t ngreets;
	struct tpl *subject, *mimever, *ctype, *ctehdr;
	struct campaign *spam;
	size_t nspam;
	/* legit */
	struct style *mua;
	size_t nmua;
	struct campaign *ham;
	size_t nham;
};

static struct tpl *must(struct arena *a, const char *text)
{
	char err[200];
	struct tpl *t = tpl_compile(a, text, err, sizeof(err));

	if (!t)
		panic("built-in template '%s': %s", text, err);
	return t;
}

static void tlist(struct arena *a, struct tlist *l, const char *const *texts)
{
	size_t n = 0;

	while (texts[n])
		n++;
	l->t = arena_alloc(a, n * sizeof(*l->t));
	for (l->n = 0; l->n < n; l->n++)
		l->t[l->n] = must(a, texts[l->n]);
}

static const char *const u_helo[] = {
	"{lower:5-10}", "[{ip}]", "{ip}", "{lower:4-8}.{lower:4-8}.example.net", "{upper:6-12}",
	"localhost", "{choice:PC|USER|HOME|OFFICE}-{HEX:6}", "mail.{rcpt_domain}", "{word}{digits:2-4}",
	"{rand_host}", NULL,
};
static const char *const u_mail[] = {
	"MAIL FROM:<{from}>", "MAIL FROM: <{from}>", "mail from:<{from}>", "MAIL From:<{from}>",
	"MAIL FROM:{from}", "MAIL FROM:<{from}> SIZE={int:900-9000}", "Mail From: <{from}>", NULL,
};
static const char *const u_rcpt[] = {
	"RCPT TO:<{rcpt}>", "RCPT TO: <{rcpt}>", "rcpt to:<{rcpt}>", "RCPT To:<{rcpt}>",
	"RCPT TO:{rcpt}", NULL,
};
static const char *const u_from[] = {
	"{first_lc}{digits:1-4}@{lower:5-9}.example.com", "{lower:6-10}@{lower:4-8}.example.net",
	"{first_lc}.{last_lc}@{rcpt_domain}", "{word}{digits:2}@{lower:5-9}.example.org",
	"info@{domain}", "{last_lc}{first_lc}@mail{digits:1-2}.example.com", NULL,
};
static const char *const u_msgid[] = {
	"Message-ID: <{digits:10-14}.{digits:4-8}@{from_domain}>",
	"Message-ID: <{hex:8-16}.{hex:4-8}@{helo}>",
	"Message-Id: <{HEX:8}${HEX:8}${HEX:8}@{from_domain}>",
	"Message-ID: <{alnum:12-30}@{from_domain}>",
	"Message-ID: <{digits:4}{lower:3-6}{digits:2-6}@{ip}>",
	"Message-ID: <{upper:1-3}{digits:6-9}.{int:10-99}{lower:2}@{rand_host}>",
	"Message-ID: <{hex:4}{digits:3}{hex:5}${lower:4-7}${digits:6}@{lower:3-9}>",
	"Message-ID: <{lower:4-10}-{digits:5-8}-{hex:6-10}@{from_domain}>", NULL,
};
static const char *const u_date[] = {
	"Date: {date:local}", "Date: {date:local-noday}", "Date: {date:gmt}", "Date: {date:2digit}",
	"Date: {date}", NULL,
};
static const char *const u_mailer[] = {
	"X-Mailer: {choice:The Bat! (v3.{int:5-99}) Professional|Microsoft Outlook Express 6.00.{int:2600-3790}.{int:1000-5999}|"
	"Microsoft Office Outlook 12.0|Mozilla Thunderbird 2.0.0.{int:1-24} (Windows/20090302)|"
	"PHP/5.{int:1-3}.{int:0-9}|AOL 9.{int:0-7}|Foxmail 6, {int:10-15}, {int:100-201}, {int:10-30}[cn]|"
	"{upper:3-6} Mail {int:1-9}.{int:0-9}}",
	"X-Priority: {choice:1|3|3 (Normal)|1 (Highest)}",
	"User-Agent: {choice:Opera Mail/10.{int:10-63}|Mutt/1.5.{int:10-21}i|Roundcube Webmail/0.{int:1-5}}",
	"Importance: {choice:Normal|High}", "X-MSMail-Priority: {choice:Normal|High}",
	"X-Originating-IP: [{rand_ip}]", "Thread-Index: Acv{alnum:20-26}==",
	"X-{upper:3-6}-{choice:ID|Tag|Ref}: {alnum:6-20}", NULL,
};
static const char *const u_extra[] = {
	"Received: from {rand_host} ([{rand_ip}]) by {from_domain} with {choice:SMTP|ESMTP|Microsoft SMTPSVC(6.0.3790.{int:1000-4675})}; {date:local}",
	"Reply-To: {first_lc}{digits:2}@{lower:5-9}.example.net",
	"Content-Language: {choice:en-us|en|ru|de}", NULL,
};
static const char *const u_fromhdr[] = {
	"From: {first} {last} <{from}>", "From: \"{first} {last}\" <{from}>", "From: <{from}>",
	"From: {from}", "From: \"{Word}\" <{from}>", "From: {upper:1}{lower:4-8} <{from}>", NULL,
};
static const char *const u_tohdr[] = {
	"To: {to}", "To: {to_angle}", "To: {to}", NULL,
};
static const char *const u_boundary[] = {
	"----=_NextPart_{digits:3}_{HEX:4}_{HEX:8}.{HEX:8}", "{hex:28}", "--{alnum:20-30}",
	"=_{lower:6-12}{digits:4-8}", "Boundary_({digits:6-9})", NULL,
};
static const char *const u_greets[] = { "EHLO", "HELO", "EHLO", "ehlo", "helo", "HELO", NULL };

/* One-off spam topics: the words vary per message, so no two look alike. */
static const char *const u_topics[][3] = {
	{ "{Word} stock alert: {upper:3-4} set to {choice:soar|explode|double} {pct}%",
	  "Investor {Word} Report\n\n{upper:3-4} is about to make a big move. {sentence}\n"
	  "Current price ${int:0-3}.{digits:2}, target ${int:2-9}.{digits:2}.\n\n{sentence}\nDetails: {url}\n",
	  "stock" },
	{ "{choice:Approved|Pre-approved|Final notice}: your {choice:loan|mortgage|credit line} of ${int:5-95},000",
	  "{choice:Dear|Hello} {first},\n\nYour {word} application was approved at {int:2-6}.{digits:2}% APR.\n"
	  "{sentence}\n\nClaim it here: {url}\n\n{sentence}\n", "loan" },
	{ "{choice:University|Degree|Diploma} {choice:programs|in weeks|without exams}",
	  "Get a {choice:Bachelors|Masters|MBA|Doctorate} based on your {word} experience.\n"
	  "{sentence}\nNo tests, no classes. Call +1 {digits:3} {digits:3} {digits:4} or visit {url}\n",
	  "diploma" },
	{ "{first} wants to {choice:chat|meet|talk} with you",
	  "Hi,\n\nI saw your {word} profile and {sentence}\nMy photos are here: {url}\n\n{first}\n",
	  "dating" },
	{ "{choice:Winning|Prize|Lottery} notification ref {upper:2}/{digits:4}/{digits:2}",
	  "Attn: Beneficiary\n\nYour e-mail address won {int:250-950},000.00 EUR in the {Word} {Word} "
	  "promotion.\n{sentence}\nContact our agent {name} at {first_lc}{digits:2}@{lower:5-8}.example.net\n",
	  "lottery" },
	{ "{choice:Your account|Account alert|Security notice}: {choice:verify|confirm|update} your {word} details",
	  "Dear customer,\n\nWe detected unusual {word} activity on your account.\n{sentence}\n"
	  "Please {choice:verify|confirm} your details within 48 hours: {url}\n\n{Word} {Word} Team\n",
	  "phish" },
	{ "{choice:OEM|Cheap|Discount} software: {choice:Office|Windows|Photoshop|AutoCAD} from ${int:29-99}",
	  "{sentence}\nDownload now, {pct}% off retail: {url}\n\n{sentence}\n", "software" },
	{ "{choice:Business proposal|Urgent reply|Confidential}: {words:2-4}",
	  "Good day,\n\nI am {name}, {choice:manager|director|barrister} at {Word} {choice:Bank|Holdings|Trust}. "
	  "{sentence} {sentence}\nThe sum is US${int:5-45},{digits:3},000.00.\nReply to {first_lc}.{last_lc}@{lower:5-8}.example.org\n",
	  "advance-fee" },
	{ "{choice:Lose|Drop|Burn} {int:10-30} lbs {choice:fast|in 30 days|before summer}",
	  "{sentence}\n{Word} {Word} works while you sleep. {sentence}\nOrder: {url}\n", "diet" },
	{ "{choice:Rolex|Omega|Breitling|Cartier} {choice:replicas|watches|copies} {pct}% off",
	  "{sentence}\nSwiss-look {choice:watches|bags|pens} from ${int:89-299}.\n{url}\n", "replica" },
};

static const char *const l_topics[][2] = {
	{ "{choice:Meeting notes|Minutes|Notes from today's call}: {words:1-3}",
	  "Hi all,\n\nThanks for joining. {sentence} {sentence}\n\nAction items:\n- {first}: {sentence}\n"
	  "- {first}: {sentence}\n\nNext meeting on {choice:Monday|Tuesday|Thursday} at {int:9-16}:00.\n\n{sfirst}\n" },
	{ "Re: {words:2-4}",
	  "{sentence} {sentence}\n\n{choice:Thanks|Cheers|Best|Regards},\n{sfirst}\n\n"
	  "On {date}, {name} wrote:\n> {sentence}\n> {sentence}\n" },
	{ "Your order #{digits:7-9} has shipped",
	  "Hello {first},\n\nYour order of {int:1-4} {word} item(s) left our warehouse today.\n"
	  "Tracking number: 1Z{upper:3}{digits:12}\nEstimated delivery: {int:2-6} business days.\n\n"
	  "Thank you for shopping with {Word} {choice:Store|Outfitters|Books}.\n" },
	{ "[{lower:4-9}-{choice:users|devel|announce}] {words:2-6}",
	  "{sentence}\n\n{sentence} {sentence}\n\n--\n{sfirst} {slast}\n\n"
	  "_______________________________________________\n{lower:4-9} mailing list\n" },
	{ "{choice:Weekly|Monthly} {Word} newsletter - {choice:January|February|March|December} edition",
	  "In this issue:\n\n1. {sentence}\n2. {sentence}\n3. {sentence}\n\nRead online: {url}\n"
	  "You receive this because you subscribed at {domain}. Unsubscribe: {url}\n" },
	{ "{choice:Lunch|Dinner|Coffee} {choice:tomorrow|on Friday|next week}?",
	  "Hey {first},\n\n{sentence} How about {choice:noon|1pm|7pm} at the {word} place?\n\n{sfirst}\n" },
	{ "[{upper:3-4}-{digits:3-4}] {words:3-6}",
	  "{name} {choice:commented on|updated|resolved} the issue.\n\n{sentence}\n{sentence}\n\n"
	  "View it at {url}\n-- \nThis message was sent by the {Word} tracker.\n" },
	{ "Invoice {upper:2}-{digits:5} for {choice:January|February|March|December}",
	  "Dear {first} {last},\n\nPlease find the summary of invoice {upper:2}-{digits:5} below.\n\n"
	  "Amount due: {amount} EUR\nDue date: in {int:14-30} days\n\n{sentence}\n\nAccounts, {Word} Ltd\n" },
};

static void campaigns(struct arena *a, struct campaign **out, size_t *nout, size_t n,
		      const char *const *subj, const char *const *body, size_t stride)
{
	static const char *const paths[] = { "index.html", "r", "go", "p", "news", "view" };
	size_t i;

	*out = arena_alloc(a, n * sizeof(**out));
	memset(*out, 0, n * sizeof(**out));
	for (i = 0; i < n; i++) {
		struct campaign *c = &(*out)[i];

		c->name = "builtin";
		c->subjects = arena_alloc(a, sizeof(*c->subjects));
		c->bodies = arena_alloc(a, sizeof(*c->bodies));
		c->subjects[0] = must(a, subj[i * stride]);
		c->bodies[0] = must(a, body[i * stride]);
		c->nsubjects = c->nbodies = 1;
		c->paths = (const char **)paths;
		c->npaths = sizeof(paths) / sizeof(paths[0]);
	}
	*nout = n;
}

/* Legitimate mail user agents, as they wrote headers around 2011 (illustrative). */
struct mua_def {
	const char *helo, *from, *headers[12];
	enum mime_shape mime;
	const char *charset;
	enum cte cte;
	const char *boundary;
};

static const struct mua_def muas[] = {
	{ "mail.{org}.example.org", "{sfirst_lc}.{slast_lc}@{org}.example.org",
	  { "Received: from [10.{int:0-9}.{int:0-250}.{int:2-250}] (unknown [{rand_ip}]) by {helo} (Postfix) with ESMTPSA id {HEX:10}; {date:local}",
	    "Message-ID: <{HEX:8}.{digits:7}@{from_domain}>", "Date: {date:local}",
	    "From: {sfirst} {slast} <{from}>",
	    "User-Agent: Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.{int:10-15}) Gecko/2011{digits:4} Thunderbird/3.1.{int:6-9}",
	    "MIME-Version: 1.0", "To: {to}", "Subject: {subject}", "Content-Type: {content_type}; format=flowed",
	    "Content-Transfer-Encoding: {cte}", NULL },
	  MIME_PLAIN, "ISO-8859-1", CTE_7BIT, "------------0{digits:23}" },
	{ "EXCH{digits:2:bot}.{org}.example.com", "{sfirst_lc}{slast_lc}@{org}.example.com",
	  { "Received: from EXCH{digits:2:bot} ([10.{int:0-9}.{int:0-250}.{int:2-250}]) by {helo} ([10.{int:0-9}.{int:0-250}.{int:2-250}]) with mapi; {date:local}",
	    "From: {sfirst} {slast} <{from}>", "To: {to}", "Date: {date:local}", "Subject: {subject}",
	    "Thread-Topic: {subject}", "Thread-Index: Acv{alnum:22}==",
	    "Message-ID: <{HEX:16}{digits:4}@{helo}>", "Content-Language: en-US",
	    "Content-Type: {content_type}", "MIME-Version: 1.0", NULL },
	  MIME_ALTERNATIVE, "us-ascii", CTE_QP, "_000_{HEX:40}_" },
	{ "smtp{int:1-9:bot}.{org}.example.net", "{sfirst_lc}@{org}.example.net",
	  { "From: {sfirst} {slast} <{from}>", "Content-Type: {content_type}", "Content-Transfer-Encoding: {cte}",
	    "Subject: {subject}", "Date: {date:local}", "Message-Id: <{HEX:8}-{HEX:4}-{HEX:4}-{HEX:4}-{HEX:12}@{from_domain}>",
	    "To: {to}", "Mime-Version: 1.0 (Apple Message framework v1082)",
	    "X-Mailer: Apple Mail (2.1082)", NULL },
	  MIME_PLAIN, "us-ascii", CTE_7BIT, "Apple-Mail-{int:1-99}--{digits:9}" },
	{ "mail-{lower:2}{int:0-9}-f{int:40-199}.webmail.example.com", "{sfirst_lc}.{slast_lc}{digits:0-2}@webmail.example.com",
	  { "MIME-Version: 1.0", "Received: by 10.{int:0-250}.{int:0-250}.{int:2-250} with HTTP; {date}",
	    "Date: {date:local}", "Message-ID: <AANLkTi{alnum:36}@mail.webmail.example.com>",
	    "Subject: {subject}", "From: {sfirst} {slast} <{from}>", "To: {to}", "Content-Type: {content_type}", NULL },
	  MIME_ALTERNATIVE, "ISO-8859-1", CTE_7BIT, "{hex:28}" },
	{ "lists.{org}.example.org", "{lower:4-9}-bounces@lists.{org}.example.org",
	  { "Date: {date:local}", "From: {sfirst} {slast} <{sfirst_lc}@{lower:4-9}.example.net>", "To: {to}",
	    "Message-ID: <{digits:14}.{digits:4-5}.{lower:6}@{lower:4-9}.example.net>", "Subject: {subject}",
	    "MIME-Version: 1.0", "Content-Type: {content_type}", "Content-Transfer-Encoding: {cte}",
	    "Precedence: list", "List-Id: <{lower:4-9}.lists.{org}.example.org>",
	    "List-Unsubscribe: <http://lists.{org}.example.org/mailman/options/{lower:4-9}>",
	    "Sender: {from}" },
	  MIME_PLAIN, "us-ascii", CTE_7BIT, "================{digits:19}==" },
	{ "out{int:1-20}.notify.example.com", "noreply@notify.example.com",
	  { "Date: {date}", "From: {Word} {choice:Tracker|Shop|Billing} <{from}>", "To: {to}",
	    "Message-ID: <{lower:4-9}.{hex:32}@notify.example.com>", "Subject: {subject}",
	    "MIME-Version: 1.0", "Content-Type: {content_type}", "Content-Transfer-Encoding: {cte}",
	    "Auto-Submitted: auto-generated", NULL },
	  MIME_ALTERNATIVE, "UTF-8", CTE_QP, "{digits:6}.{digits:13}.JavaMail.{lower:4-8}" },
};

struct builtin *builtin_compile(struct arena *a)
{
	struct builtin *b = arena_alloc(a, sizeof(*b));
	const size_t nt = sizeof(u_topics) / sizeof(u_topics[0]);
	const size_t nl = sizeof(l_topics) / sizeof(l_topics[0]);
	size_t i, k;

	memset(b, 0, sizeof(*b));
	tlist(a, &b->helo, u_helo);
	tlist(a, &b->mail, u_mail);
	tlist(a, &b->rcpt, u_rcpt);
	tlist(a, &b->from, u_from);
	tlist(a, &b->msgid, u_msgid);
	tlist(a, &b->date, u_date);
	tlist(a, &b->mailer, u_mailer);
	tlist(a, &b->extra, u_extra);
	tlist(a, &b->fromhdr, u_fromhdr);
	tlist(a, &b->tohdr, u_tohdr);
	tlist(a, &b->boundary, u_boundary);
	b->subject = must(a, "Subject: {subject}");
	b->mimever = must(a, "MIME-Version: 1.0");
	b->ctype = must(a, "Content-Type: {content_type}");
	b->ctehdr = must(a, "Content-Transfer-Encoding: {cte}");
	b->greets = (const char **)u_greets;
	b->ngreets = sizeof(u_greets) / sizeof(u_greets[0]) - 1;
	campaigns(a, &b->spam, &b->nspam, nt, &u_topics[0][0], &u_topics[0][1], 3);
	campaigns(a, &b->ham, &b->nham, nl, &l_topics[0][0], &l_topics[0][1], 2);
	b->nmua = sizeof(muas) / sizeof(muas[0]);
	b->mua = arena_alloc(a, b->nmua * sizeof(*b->mua));
	memset(b->mua, 0, b->nmua * sizeof(*b->mua));
	for (i = 0; i < b->nmua; i++) {
		struct style *st = &b->mua[i];
		const struct mua_def *d = &muas[i];
		size_t nh = 0;

		while (nh < 12 && d->headers[nh])
			nh++;
		st->greet = "EHLO";
		st->helo = must(a, d->helo);
		st->from = must(a, d->from);
		st->mail = must(a, i % 2 ? "MAIL FROM:<{from}> SIZE={int:1200-40000}" : "MAIL FROM:<{from}>");
		st->rcpt = must(a, "RCPT TO:<{rcpt}>");
		st->quit = true;
		st->headers = arena_alloc(a, nh * sizeof(*st->headers));
		for (k = 0; k < nh; k++) {
			st->headers[k] = must(a, d->headers[k]);
			if (strncmp(d->headers[k], "Message-", 8) == 0)
				st->msgid_header = k;
		}
		st->nheaders = nh;
		st->mime = d->mime;
		st->charset = d->charset;
		st->cte = d->cte;
		st->boundary = must(a, d->boundary);
	}
	return b;
}

static struct tpl *pick(struct rng *r, const struct tlist *l)
{
	return l->t[rng_below(r, (uint32_t)l->n)];
}

void builtin_style(const struct builtin *b, enum sim_kind k, struct rng *r, struct style *st,
		   struct tpl **hdrs)
{
	size_t n = 0, i, lead = 0;

	if (k == SIM_LEGIT) {
		*st = b->mua[rng_below(r, (uint32_t)b->nmua)];
		return;
	}
	memset(st, 0, sizeof(*st));
	st->greet = b->greets[rng_below(r, (uint32_t)b->ngreets)];
	st->helo = pick(r, &b->helo);
	st->mail = pick(r, &b->mail);
	st->rcpt = pick(r, &b->rcpt);
	st->from = pick(r, &b->from);
	st->rset = rng_below(r, 3) == 0;
	st->quit = rng_below(r, 5) != 0;
	st->boundary = pick(r, &b->boundary);
	st->mime = (enum mime_shape)rng_below(r, 3);
	st->cte = (enum cte)rng_below(r, 4);
	{
		static const char *const cs[] = { "us-ascii", "iso-8859-1", "windows-1252", "utf-8",
						  "koi8-r", "windows-1251", "gb2312", "iso-8859-2" };

		st->charset = cs[rng_below(r, 8)];
	}
	if (rng_below(r, 3) == 0) {
		hdrs[n++] = pick(r, &b->extra);
		lead = strncmp(hdrs[0]->src, "Received", 8) == 0;
	}
	hdrs[n++] = pick(r, &b->msgid);
	hdrs[n++] = pick(r, &b->date);
	hdrs[n++] = pick(r, &b->fromhdr);
	hdrs[n++] = pick(r, &b->tohdr);
	hdrs[n++] = b->subject;
	for (i = rng_below(r, 4); i > 0; i--)
		hdrs[n++] = pick(r, &b->mailer);
	/* shuffle everything after an optional leading Received line */
	for (i = n - 1; i > lead; i--) {
		size_t j = lead + rng_below(r, (uint32_t)(i - lead + 1));
		struct tpl *t = hdrs[i];

		hdrs[i] = hdrs[j];
		hdrs[j] = t;
	}
	hdrs[n++] = b->mimever;
	hdrs[n++] = b->ctype;
	if (st->cte != CTE_7BIT || rng_below(r, 2))
		hdrs[n++] = b->ctehdr;
	st->headers = hdrs;
	st->nheaders = n;
	for (i = 0; i < n; i++)
		if (strncmp(hdrs[i]->src, "Message-", 8) == 0)
			st->msgid_header = i;
}

const struct campaign *builtin_campaign(const struct builtin *b, enum sim_kind k, struct rng *r)
{
	if (k == SIM_LEGIT)
		return &b->ham[rng_below(r, (uint32_t)b->nham)];
	return &b->spam[rng_below(r, (uint32_t)b->nspam)];
}
