/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A device's connection I/O without blocking (see conn.h). Deadlines
 * are kept only for connections that wait (a partial message in, or
 * replies out), on one list a periodic timer sweeps while it is not
 * empty: an idle connection costs no timer work, and the timer's one fd
 * is the library's, not a connection's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "backend/conn.h"
#include "backend/socket.h"
#include "common/clock.h"
#include "common/log.h"
#include "loop/loop.h"

/* How often the waiting connections are checked: the precision of the
 * I/O timeout. */
#define SWEEP_MS 100

/* One reply, or what the socket has not taken of it yet. */
struct out {
	struct out *next;
	uint32_t len, off;
	int nfds;                   /* ours (dups), sent with byte 0 */
	int fds[VHU_MAX_MSG_FDS];
	uint8_t bytes[];
};

struct vhu_conn {
	struct vhu_dev *dev;
	/* A message left partial: 4 KiB only a peer that stalls mid-message
	 * costs; whole ones are read and handled on the stack. */
	struct vhu_msg *msg;
	struct vhu_msg_rx rx;
	struct out *out, **out_tail;
	uint32_t out_bytes;
	bool out_watched;
	int64_t rx_since, tx_since; /* ms the partial message / unread
				     * replies have waited since; 0: none */
	struct vhu_conn *wait_next, **wait_pprev; /* on `waiting` while either is set */
};

static struct vhu_conn *waiting VHU_GUARDED_BY(vhu_ctl);
static int sweep_fd VHU_GUARDED_BY(vhu_ctl) = -1;
static struct vhu_loop_entry *sweep_ev VHU_GUARDED_BY(vhu_ctl);

/* The first waiting connection past its socket's I/O timeout, with a log
 * line saying what it left waiting. */
static struct vhu_conn *first_expired(int64_t now) VHU_REQUIRES(vhu_ctl)
{
	for (struct vhu_conn *c = waiting; c; c = c->wait_next) {
		struct vhu_dev *dev = c->dev;
		int64_t limit = dev->sock->io_timeout_ms;
		char why[96];
		if (!dev->ev)
			continue; /* paused for a callback: nothing can move */
		if (c->rx_since && now - c->rx_since >= limit) {
			VHU_ERR("%s: %s for %.1f s; closing the connection", dev->name,
				vhu_msg_rx_partial(c->msg, &c->rx, why, sizeof(why)),
				(double)(now - c->rx_since) / 1000);
			return c;
		}
		if (c->tx_since && now - c->tx_since >= limit) {
			VHU_ERR("%s: replies unread for %.1f s (%u bytes waiting); closing "
				"the connection", dev->name, (double)(now - c->tx_since) / 1000,
				c->out_bytes);
			return c;
		}
	}
	return NULL;
}

static void sweep_event(void *arg, uint32_t events) VHU_REQUIRES(vhu_ctl)
{
	uint64_t n;
	struct vhu_conn *c;

	(void)arg;
	(void)events;
	if (read(sweep_fd, &n, sizeof(n)) < 0) {
		/* spurious wake-up; the timer fires again */
	}
	/* From the start after each close: destroying a device runs
	 * callbacks, which may close other connections too. */
	while ((c = first_expired(vhu_now_ms())))
		vhu_dev_destroy(c->dev);
	if (!waiting) {
		/* Gone until a connection waits again: a process whose peers
		 * behave holds no fd for this. */
		vhu_loop_del(sweep_ev);
		close(sweep_fd);
		sweep_ev = NULL;
		sweep_fd = -1;
	}
}

static bool start_sweep(void) VHU_REQUIRES(vhu_ctl)
{
	struct itimerspec its = {
		.it_value.tv_nsec = SWEEP_MS * 1000000L,
		.it_interval.tv_nsec = SWEEP_MS * 1000000L,
	};
	sweep_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sweep_fd < 0)
		return false;
	if (timerfd_settime(sweep_fd, 0, &its, NULL) < 0 ||
	    !(sweep_ev = vhu_loop_add(sweep_fd, sweep_event, NULL))) {
		close(sweep_fd);
		sweep_fd = -1;
		return false;
	}
	return true;
}

/* Puts c on the waiting list, or takes it off, as its deadlines say. */
static void wait_update(struct vhu_conn *c) VHU_REQUIRES(vhu_ctl)
{
	bool wait = c->rx_since || c->tx_since;

	if (wait == !!c->wait_pprev)
		return;
	if (!wait) {
		*c->wait_pprev = c->wait_next;
		if (c->wait_next)
			c->wait_next->wait_pprev = c->wait_pprev;
		c->wait_next = NULL;
		c->wait_pprev = NULL;
		return; /* the sweep ends the timer when the list is empty */
	}
	if (sweep_fd < 0 && !start_sweep())
		VHU_ERR("%s: cannot create the I/O timeout timer: a peer that stalls "
			"keeps its connection", c->dev->name);
	c->wait_next = waiting;
	if (waiting)
		waiting->wait_pprev = &c->wait_next;
	waiting = c;
	c->wait_pprev = &waiting;
}

struct vhu_conn *vhu_conn_new(struct vhu_dev *dev)
{
	int fl = fcntl(dev->fd, F_GETFL);

	if (fl < 0 || fcntl(dev->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		VHU_ERR("%s: cannot make the socket non-blocking: %s", dev->name,
			strerror(errno));
		return NULL;
	}
	struct vhu_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->dev = dev;
	c->out_tail = &c->out;
	return c;
}

static void out_drop_fds(struct out *o)
{
	for (int i = 0; i < o->nfds; i++)
		close(o->fds[i]);
	o->nfds = 0;
}

void vhu_conn_free(struct vhu_conn *c)
{
	if (!c)
		return;
	c->rx_since = c->tx_since = 0;
	wait_update(c);
	if (c->msg) {
		vhu_msg_close_fds(c->msg);
		free(c->msg);
	}
	while (c->out) {
		struct out *o = c->out;
		c->out = o->next;
		out_drop_fds(o);
		free(o);
	}
	free(c);
}

static void watch_out(struct vhu_conn *c, bool on) VHU_REQUIRES(vhu_ctl)
{
	/* Paused (vhu_conn_pause): resuming watches what is queued then. */
	if (c->out_watched == on || !c->dev->ev)
		return;
	if (vhu_loop_watch_out(c->dev->ev, on) == 0)
		c->out_watched = on;
}

/* Sends what the backlog holds, as far as the socket takes it. */
static bool flush(struct vhu_conn *c) VHU_REQUIRES(vhu_ctl)
{
	bool moved = false;

	while (c->out) {
		struct out *o = c->out;
		ssize_t r = vhu_msg_write(c->dev->fd, o->bytes + o->off, o->len - o->off,
					  o->fds, o->nfds);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			VHU_ERR("%s: cannot send replies: %s", c->dev->name, strerror((int)-r));
			return false;
		}
		moved = true;
		out_drop_fds(o); /* the peer has them now */
		o->off += (uint32_t)r;
		c->out_bytes -= (uint32_t)r;
		if (o->off < o->len)
			break;
		c->out = o->next;
		if (!c->out)
			c->out_tail = &c->out;
		free(o);
	}
	if (!c->out)
		c->tx_since = 0;
	else if (moved || !c->tx_since)
		c->tx_since = vhu_now_ms(); /* a peer that reads slowly still reads */
	watch_out(c, c->out != NULL);
	wait_update(c);
	return true;
}

bool vhu_conn_send(struct vhu_dev *dev, const struct vhu_msg *msg)
{
	struct vhu_conn *c = dev->conn;
	uint8_t buf[sizeof(struct vhu_msg_hdr) + VHU_MAX_PAYLOAD];
	uint32_t len = vhu_msg_pack(msg, buf), off = 0;

	if (!c->out) {
		ssize_t r = vhu_msg_write(dev->fd, buf, len, msg->fds, msg->nfds);
		if (r < 0 && r != -EAGAIN) {
			VHU_ERR("%s: cannot reply to %s: %s", dev->name,
				vhu_req_name(msg->hdr.request), strerror((int)-r));
			return false;
		}
		if (r > 0)
			off = (uint32_t)r;
		if (off == len)
			return true;
	}
	if (c->out_bytes + (len - off) > VHU_CONN_BACKLOG_MAX) {
		VHU_ERR("%s: cannot reply to %s: the peer leaves %u bytes of replies unread; "
			"closing the connection", dev->name, vhu_req_name(msg->hdr.request),
			c->out_bytes);
		return false;
	}
	struct out *o = malloc(sizeof(*o) + (len - off));
	if (!o) {
		VHU_ERR("%s: cannot reply to %s: out of memory", dev->name,
			vhu_req_name(msg->hdr.request));
		return false;
	}
	o->next = NULL;
	o->len = len - off;
	o->off = 0;
	o->nfds = 0;
	memcpy(o->bytes, buf + off, len - off);
	/* Not one byte went: the fds wait with the rest, as our own copies
	 * (the device may close its fd before the peer reads). */
	for (int i = 0; !off && i < msg->nfds; i++) {
		int fd = fcntl(msg->fds[i], F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			VHU_ERR("%s: cannot reply to %s: %s", dev->name,
				vhu_req_name(msg->hdr.request), strerror(errno));
			out_drop_fds(o);
			free(o);
			return false;
		}
		o->fds[o->nfds++] = fd;
	}
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += o->len;
	if (!c->tx_since)
		c->tx_since = vhu_now_ms();
	watch_out(c, true);
	wait_update(c);
	return true;
}

/* Reads on into the partial message, or a new one into *local; 1 with
 * *msg whole, -EAGAIN with the rest kept in c->msg, others as
 * vhu_msg_rx_step. */
static int read_msg(struct vhu_conn *c, struct vhu_msg *local, struct vhu_msg **msg)
	VHU_REQUIRES(vhu_ctl)
{
	if (!c->msg)
		vhu_msg_rx_init(local, &c->rx);
	*msg = c->msg ? c->msg : local;
	int r = vhu_msg_rx_step(c->dev->fd, *msg, &c->rx);
	if (r != -EAGAIN || c->msg || (!c->rx.got && !local->nfds))
		return r;
	if (!(c->msg = malloc(sizeof(*c->msg)))) {
		VHU_ERR("%s: no memory for a partial message; closing the connection",
			c->dev->name);
		vhu_msg_close_fds(local);
		return -ENOMEM;
	}
	memcpy(c->msg, local, sizeof(*local));
	return r;
}

bool vhu_conn_event(struct vhu_dev *dev, uint32_t events)
{
	struct vhu_conn *c = dev->conn;
	struct vhu_msg local, *msg;

	if (c->out && !flush(c))
		return false;
	for (int n = 0; n < VHU_CONN_MSG_BUDGET; n++) {
		int r = read_msg(c, &local, &msg);
		if (r == -EAGAIN)
			break;
		if (r == 0) {
			VHU_INFO("%s: frontend closed the connection", dev->name);
			return false;
		}
		if (r < 0) {
			VHU_ERR("%s: bad message, closing the connection: %s", dev->name,
				strerror(-r));
			return false;
		}
		c->rx_since = 0;
		bool keep = vhu_dev_handle_msg(dev, msg);
		if (msg == c->msg) {
			/* the device may keep fds named here (a reply's) */
			c->msg = NULL;
			free(msg);
		}
		if (!keep)
			return false;
		if (dev->cb_busy)
			return true; /* paused: the rest when the callback returned */
	}
	/* A hang-up with nothing left to read still reads as EOF above; this
	 * covers one that came with an error instead. */
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		return false;
	if (!c->msg)
		c->rx_since = 0;
	else if (!c->rx_since)
		c->rx_since = vhu_now_ms();
	wait_update(c);
	return true;
}

static void dev_event(void *arg, uint32_t events) VHU_REQUIRES(vhu_ctl)
{
	struct vhu_dev *dev = arg;

	if (!vhu_conn_event(dev, events))
		vhu_dev_destroy(dev);
}

void vhu_conn_pause(struct vhu_dev *dev)
{
	if (!dev->ev)
		return;
	vhu_loop_del(dev->ev);
	dev->ev = NULL;
	if (dev->conn)
		dev->conn->out_watched = false;
}

/* The loop is level-triggered: what arrived meanwhile, a hang-up too,
 * is seen at its next turn. */
bool vhu_conn_resume(struct vhu_dev *dev)
{
	if (dev->ev)
		return true;
	if (!(dev->ev = vhu_loop_add(dev->fd, dev_event, dev)))
		return false;
	/* The pause is ours: replies left unread count from now. */
	if (dev->conn->tx_since)
		dev->conn->tx_since = vhu_now_ms();
	watch_out(dev->conn, dev->conn->out != NULL);
	return true;
}
