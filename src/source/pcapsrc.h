/*
 * pcapsrc.h - internal to src/source: the SMTP messages of a packet
 * capture (.pcap or .pcapng, read by libpcap), as source items.
 *
 * Packets are decoded (pcapdec.h), TCP connections tracked in a bounded
 * table (tcpflow.h: LIMIT_PCAP_FLOWS; a flow silent for
 * LIMIT_PCAP_FLOW_IDLE_S of packet time is finished), each direction put
 * back in order (tcpreasm.h: LIMIT_PCAP_FLOW_BYTES out of order), and each
 * SMTP session driven through the trap's core (pcapsmtp.h). A session is
 * SMTP when its server port is one of the SMTP ports, or when the server
 * opens with a 220 banner; its client is the side that sent the SYN.
 *
 * Items: one per message the core hands over, numbered 1, 2, ... in the
 * order their DATA ended in the capture, with raw = the message, session
 * = client address, HELO, MAIL FROM, recipients, dialect id and facts,
 * ts = packet time of the end of DATA (seconds); and one per session that
 * went on inside STARTTLS (raw NULL, len 0, session->encrypted). Items
 * point into the reader and are valid until the next pcapsrc_next().
 *
 * Skips (SOURCE_SKIP, with the file, the packet number and the
 * connection): a message cut by a loss or by the end of its connection
 * or of the capture, a message over LIMIT_MESSAGE_SIZE, client bytes
 * after a loss that could not be parsed, a session joined in the middle
 * (no SYN in the capture), a server that never spoke or refused STARTTLS,
 * a file cut mid-record (what came before is read), IP fragments (counted,
 * one line at the end). Scanners and other sessions without a message give
 * nothing.
 */
#ifndef SPAMTIDE_SOURCE_PCAPSRC_H
#define SPAMTIDE_SOURCE_PCAPSRC_H

#include <stdbool.h>
#include <stdint.h>

#include "source/source.h"
#include "util/buf.h"

#define PCAPSRC_DEFAULT_PORTS "25,587,2525"

typedef struct pcapsrc pcapsrc;

/*
 * pcapsrc_open: the capture at path, already open as fd (duplicated; the
 * caller keeps fd). smtp_ports: "25,587,2525" or NULL for that. NULL with
 * err filled when libpcap cannot read it or its link type is not one
 * pcapdec knows.
 */
pcapsrc *pcapsrc_open(const char *path, int fd, int64_t mtime, const char *smtp_ports,
		      struct buf *err);
/* pcapsrc_next: as source_next (err is reset by the caller). */
enum source_status pcapsrc_next(pcapsrc *c, struct source_item *item, struct buf *err);
/* pcapsrc_bytes_read: bytes of the file read so far. */
uint64_t pcapsrc_bytes_read(const pcapsrc *c);
void pcapsrc_close(pcapsrc *c);

/* pcapsrc_parse_ports: "25, 587,2525" into a 65536-bit set; false with err filled. */
bool pcapsrc_parse_ports(const char *list, uint8_t set[8192], struct buf *err);

#endif
