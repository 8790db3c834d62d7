package kmip

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ResultError is an operation the KMIP server answered with a failure
// status. Its text comes from the server.
type ResultError struct {
	// Operation is the KMIP operation, e.g. "Decrypt".
	Operation string
	// Status is the Result Status enumeration (1 = Operation Failed).
	Status uint32
	// Reason is the Result Reason enumeration (e.g. 0x0A Cryptographic
	// Failure); 0 if the server gave none.
	Reason uint32
	// Message is the server's Result Message, if any.
	Message string
}

// Error formats as "kmip: Decrypt failed: Cryptographic Failure: message".
func (e *ResultError) Error() string {
	s := fmt.Sprintf("kmip: %s failed: %s", e.Operation, reasonName(e.Reason))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// client speaks KMIP 1.4 TTLV over mutual TLS, one batch item per request,
// over a small pool of kept-alive connections.
type client struct {
	endpoint string
	tls      *tls.Config
	timeout  time.Duration
	slots    chan struct{}  // bounds the connections in use
	idle     chan *tls.Conn // kept-alive connections
}

func newClient(endpoint string, tc *tls.Config, conns int, timeout time.Duration) *client {
	return &client{
		endpoint: endpoint,
		tls:      tc,
		timeout:  timeout,
		slots:    make(chan struct{}, conns),
		idle:     make(chan *tls.Conn, conns),
	}
}

// close closes the idle connections; in-flight requests finish on theirs.
func (c *client) close() {
	for {
		select {
		case conn := <-c.idle:
			conn.Close()
		default:
			return
		}
	}
}

func (c *client) dial(ctx context.Context) (*tls.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: c.timeout}, Config: c.tls}
	conn, err := d.DialContext(ctx, "tcp", c.endpoint)
	if err != nil {
		return nil, fmt.Errorf("kmip: connect to %s: %w", c.endpoint, err)
	}
	return conn.(*tls.Conn), nil
}

// request builds a KMIP 1.4 request message with one batch item.
func request(op uint32, payload item) []byte {
	msg := structure(tagRequestMessage,
		structure(tagRequestHeader,
			structure(tagProtocolVersion,
				integer(tagProtocolVersionMajor, 1),
				integer(tagProtocolVersionMinor, 4),
			),
			integer(tagBatchCount, 1),
		),
		structure(tagBatchItem,
			enum(tagOperation, op),
			payload,
		),
	)
	return msg.encode()
}

// do runs one operation and returns its response payload. Operations
// that are safe to repeat (retry) are retried once on a fresh connection
// when a kept-alive one turns out to be dead.
//
// The whole call, waiting for a connection and a retry included, gets
// one Timeout: a server that accepts connections and never answers
// would otherwise hold a caller for a timeout on the silent kept-alive
// connection, another on the retry's handshake, and more in the queue
// for a connection behind other callers doing the same.
func (c *client) do(ctx context.Context, op uint32, payload item, retry bool) (item, error) {
	p, err := c.doWithin(ctx, op, payload, retry)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("kmip: %s did not answer %s within %v: %w", c.endpoint, opName(op), c.timeout, err)
	}
	return p, err
}

func (c *client) doWithin(ctx context.Context, op uint32, payload item, retry bool) (item, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return item{}, fmt.Errorf("kmip: waiting for a connection: %w", ctx.Err())
	}
	defer func() { <-c.slots }()
	req := request(op, payload)
	for attempt := 0; ; attempt++ {
		var conn *tls.Conn
		reused := false
		select {
		case conn = <-c.idle:
			reused = true
		default:
			var err error
			if conn, err = c.dial(ctx); err != nil {
				return item{}, err
			}
		}
		resp, err := c.roundTrip(ctx, conn, req)
		if err != nil {
			conn.Close()
			if reused {
				// The server likely restarted or dropped idle
				// connections: the other idle ones are as stale.
				c.close()
			}
			if retry && reused && attempt == 0 && ctx.Err() == nil {
				continue
			}
			return item{}, err
		}
		select {
		case c.idle <- conn:
		default:
			conn.Close()
		}
		return parseResponse(op, resp)
	}
}

// roundTrip writes req and reads one response message, bounded by ctx and
// the client's timeout.
func (c *client) roundTrip(ctx context.Context, conn *tls.Conn, req []byte) ([]byte, error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("kmip: %w", err)
	}
	// Cancelling ctx interrupts the blocked read or write.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("kmip: send to %s: %w", c.endpoint, ctxErr(ctx, err))
	}
	var hdr [headerLen]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("kmip: read from %s: %w", c.endpoint, ctxErr(ctx, err))
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if t := tag(uint32(hdr[0])<<16 | uint32(hdr[1])<<8 | uint32(hdr[2])); t != tagResponseMessage || ttlvType(hdr[3]) != typeStructure {
		return nil, fmt.Errorf("%w: response starts with tag %06x type %d", errTTLV, uint32(t), hdr[3])
	}
	if n > maxMessage-headerLen || n%8 != 0 {
		return nil, fmt.Errorf("%w: response length %d", errTTLV, n)
	}
	msg := make([]byte, headerLen+int(n))
	copy(msg, hdr[:])
	if _, err := io.ReadFull(conn, msg[headerLen:]); err != nil {
		return nil, fmt.Errorf("kmip: read from %s: %w", c.endpoint, ctxErr(ctx, err))
	}
	return msg, nil
}

// ctxErr prefers the context's error to the deadline it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// parseResponse checks a response message for operation op and returns
// its payload (an empty structure when the server sent none).
func parseResponse(op uint32, b []byte) (item, error) {
	msg, err := decode(b)
	if err != nil {
		return item{}, err
	}
	if msg.tag != tagResponseMessage || msg.typ != typeStructure {
		return item{}, fmt.Errorf("%w: not a response message", errTTLV)
	}
	hdr := msg.child(tagResponseHeader)
	if hdr == nil {
		return item{}, fmt.Errorf("%w: response without header", errTTLV)
	}
	if n, _ := hdr.childNum(tagBatchCount, typeInteger); n != 1 {
		return item{}, fmt.Errorf("%w: response batch count %d, want 1", errTTLV, n)
	}
	bi := msg.child(tagBatchItem)
	if bi == nil || bi.typ != typeStructure {
		return item{}, fmt.Errorf("%w: response without batch item", errTTLV)
	}
	if got, ok := bi.childNum(tagOperation, typeEnumeration); ok && uint32(got) != op {
		return item{}, fmt.Errorf("%w: response for operation %#x, want %#x", errTTLV, got, op)
	}
	status, ok := bi.childNum(tagResultStatus, typeEnumeration)
	if !ok {
		return item{}, fmt.Errorf("%w: response without result status", errTTLV)
	}
	if status != statusSuccess {
		e := &ResultError{Operation: opName(op), Status: uint32(status)}
		if r, ok := bi.childNum(tagResultReason, typeEnumeration); ok {
			e.Reason = uint32(r)
		}
		if m, err := bi.childText(tagResultMessage); err == nil {
			e.Message = m
		}
		return item{}, e
	}
	p := bi.child(tagResponsePayload)
	if p == nil {
		return structure(tagResponsePayload), nil
	}
	if p.typ != typeStructure {
		return item{}, fmt.Errorf("%w: payload is not a structure", errTTLV)
	}
	return *p, nil
}

// Operation helpers. Each returns the server's answer, or a *ResultError.

func attribute(name string, value item) item {
	value.tag = tagAttributeValue
	return structure(tagAttribute, text(tagAttributeName, name), value)
}

func nameAttribute(name string) item {
	return attribute("Name", structure(tagAttributeValue, text(tagNameValue, name), enum(tagNameType, nameTypeText)))
}

// create creates an active-to-be AES-256 key usable to encrypt and
// decrypt, named name, in object group group; it returns its unique
// identifier.
func (c *client) create(ctx context.Context, name, group string) (string, error) {
	attrs := []item{
		attribute("Cryptographic Algorithm", enum(0, algorithmAES)),
		attribute("Cryptographic Length", integer(0, 256)),
		attribute("Cryptographic Usage Mask", integer(0, usageEncrypt|usageDecrypt)),
		nameAttribute(name),
	}
	if group != "" {
		attrs = append(attrs, attribute("Object Group", text(0, group)))
	}
	p, err := c.do(ctx, opCreate, structure(tagRequestPayload,
		enum(tagObjectType, objectTypeSymmetricKey),
		structure(tagTemplateAttribute, attrs...),
	), false)
	if err != nil {
		return "", err
	}
	return p.childText(tagUniqueIdentifier)
}

func (c *client) activate(ctx context.Context, uid string) error {
	_, err := c.do(ctx, opActivate, structure(tagRequestPayload, text(tagUniqueIdentifier, uid)), false)
	return err
}

func (c *client) destroy(ctx context.Context, uid string) error {
	_, err := c.do(ctx, opDestroy, structure(tagRequestPayload, text(tagUniqueIdentifier, uid)), false)
	return err
}

// locate returns the unique identifiers of the objects matching attrs.
func (c *client) locate(ctx context.Context, attrs ...item) ([]string, error) {
	p, err := c.do(ctx, opLocate, structure(tagRequestPayload, attrs...), true)
	if err != nil {
		return nil, err
	}
	var uids []string
	for _, u := range p.all(tagUniqueIdentifier) {
		if u.typ != typeTextString {
			return nil, fmt.Errorf("%w: unique identifier is not text", errTTLV)
		}
		uids = append(uids, string(u.bytes))
	}
	return uids, nil
}

// getAttributes returns the named attributes of uid, by name; a
// multi-valued attribute keeps its first value.
func (c *client) getAttributes(ctx context.Context, uid string, names ...string) (map[string]*item, error) {
	req := []item{text(tagUniqueIdentifier, uid)}
	for _, n := range names {
		req = append(req, text(tagAttributeName, n))
	}
	p, err := c.do(ctx, opGetAttributes, structure(tagRequestPayload, req...), true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*item)
	for _, a := range p.all(tagAttribute) {
		name, err := a.childText(tagAttributeName)
		if err != nil {
			return nil, err
		}
		if v := a.child(tagAttributeValue); v != nil && out[name] == nil {
			out[name] = v
		}
	}
	return out, nil
}

func gcmParameters() item {
	return structure(tagCryptographicParameters,
		enum(tagBlockCipherMode, blockModeGCM),
		enum(tagCryptographicAlgorithm, algorithmAES),
		integer(tagTagLength, 16),
	)
}

// encrypt seals plaintext with AES-GCM under uid inside the server and
// returns the IV used (ours, unless the server chose), the ciphertext and
// the tag.
func (c *client) encrypt(ctx context.Context, uid string, iv, plaintext, aad []byte) (usedIV, ciphertext, authTag []byte, err error) {
	p, err := c.do(ctx, opEncrypt, structure(tagRequestPayload,
		text(tagUniqueIdentifier, uid),
		gcmParameters(),
		byteString(tagData, plaintext),
		byteString(tagIVCounterNonce, iv),
		byteString(tagAEADAdditionalData, aad),
	), true)
	if err != nil {
		return nil, nil, nil, err
	}
	if ciphertext, err = p.childBytes(tagData); err != nil {
		return nil, nil, nil, err
	}
	if authTag, err = p.childBytes(tagAEADTag); err != nil {
		return nil, nil, nil, err
	}
	if usedIV, err = p.childBytes(tagIVCounterNonce); err != nil {
		return nil, nil, nil, err
	}
	if usedIV == nil {
		usedIV = iv
	}
	if len(authTag) != 16 || len(ciphertext) != len(plaintext) {
		return nil, nil, nil, fmt.Errorf("%w: Encrypt returned %d bytes and a %d-byte tag for %d bytes", errTTLV, len(ciphertext), len(authTag), len(plaintext))
	}
	return usedIV, ciphertext, authTag, nil
}

// decrypt opens what encrypt returned.
func (c *client) decrypt(ctx context.Context, uid string, iv, ciphertext, authTag, aad []byte) ([]byte, error) {
	p, err := c.do(ctx, opDecrypt, structure(tagRequestPayload,
		text(tagUniqueIdentifier, uid),
		gcmParameters(),
		byteString(tagData, ciphertext),
		byteString(tagIVCounterNonce, iv),
		byteString(tagAEADAdditionalData, aad),
		byteString(tagAEADTag, authTag),
	), true)
	if err != nil {
		return nil, err
	}
	pt, err := p.childBytes(tagData)
	if err != nil {
		return nil, err
	}
	if len(pt) != len(ciphertext) {
		return nil, fmt.Errorf("%w: Decrypt returned %d bytes for %d", errTTLV, len(pt), len(ciphertext))
	}
	return pt, nil
}
