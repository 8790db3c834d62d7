package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/encryption"
)

const adminUsage = `objstore admin: manage a running objstore through its admin API.

Usage: objstore admin [--alias NAME] [--json] COMMAND ...

  alias set NAME URL [TOKEN] | alias ls | alias rm NAME
  cluster | zones
  buckets ls | buckets create NAME [--location L] [--quota SIZE] [--setting k=v]... | buckets info NAME
  buckets quota NAME SIZE               (0 removes it; SIZE in bytes or 10GiB, 500MB...)
  buckets usage NAME [--refresh]
  buckets shred NAME --confirm NAME     (destroys the bucket's keys: its data is gone for good)
  kms ls | kms create ID | kms rotate ID
  users ls | users add NAME [--policy P,...] | users info NAME | users rm NAME
  users enable NAME | users disable NAME | users policy NAME P[,P...]
  keys add USER [--expires RFC3339] | keys ls USER | keys enable ID | keys disable ID | keys rm ID
  policies ls | policies get NAME | policies put NAME FILE|- | policies rm NAME
  tokens ls | tokens mint --name N --scopes S[,S...] [--ttl 720h] | tokens revoke ID
  heal start [--objects-per-second N] | heal stop | heal status [--watch]
  audit query [--from T] [--to T] [--identity I] [--bucket B] [--action A] [--limit N] [--after SEQ]
  audit export [filters] | audit verify [--dir DATA/audit [--kms keyring|pkcs11|kmip] [--no-anchor]]

The server and token come from --url/--token, else OBJSTORE_ADMIN_URL and
OBJSTORE_ADMIN_TOKEN, else the alias (default "default") in
~/.config/objstore/aliases.json; an alias's token is used only with that
alias's URL. tokens mint authenticates with the root credentials:
OBJSTORE_ROOT_USER and OBJSTORE_ROOT_PASSWORD, or --root-credentials
DATA/root-credentials.json. Credentials are sent only to https:// URLs
or to http:// on 127.0.0.0/8 and ::1 (addresses, not the name localhost).
`

// commandUsage is adminUsage cut to one command's lines, for `objstore
// admin COMMAND --help`; all of it for a command it does not name.
func commandUsage(command string) string {
	var lines []string
	for l := range strings.SplitSeq(adminUsage, "\n") {
		if strings.HasPrefix(l, "  "+command+" ") || strings.TrimSpace(l) == command {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return adminUsage
	}
	return "Usage: objstore admin [--alias NAME] [--json] " + command + " ...\n\n" + strings.Join(lines, "\n") + "\n"
}

// adminCLI is one invocation of `objstore admin`; its fields make it
// runnable in-process by tests.
type adminCLI struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	aliasFile      string
	interactive    bool // stdout is a terminal: progress bars
	json           bool
	client         *admin.Client
	rootCreds      string
	poll           time.Duration
}

// alias is one entry of the alias file.
type alias struct {
	URL   string `json:"url"`
	Token string `json:"token,omitempty"`
}

func runAdmin(args []string, stdout, stderr io.Writer) error {
	home, _ := os.UserConfigDir()
	c := &adminCLI{stdout: stdout, stderr: stderr, getenv: os.Getenv,
		aliasFile: filepath.Join(home, "objstore", "aliases.json"), interactive: isTerminal(stdout), poll: time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return c.run(ctx, args)
}

// cliArgs splits arguments into positional ones and --flags (--k v,
// --k=v; the names in bools take no value). Repeated flags accumulate.
func cliArgs(args []string, bools ...string) (pos []string, flags map[string][]string, err error) {
	flags = map[string][]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		isBool := false
		for _, b := range bools {
			isBool = isBool || b == name
		}
		switch {
		case isBool && !hasVal:
			val = "true"
		case !hasVal:
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			val = args[i]
		}
		flags[name] = append(flags[name], val)
	}
	return pos, flags, nil
}

// globalFlags are the flags every admin command takes; commandFlags
// those each command takes besides. A flag outside both is refused: a
// typo (--expire for --expires, --policies for --policy) would
// otherwise be ignored, and change what the command does without a word.
var (
	globalFlags  = []string{"url", "token", "alias", "json", "help", "h", "root-credentials"}
	commandFlags = map[string][]string{
		"buckets": {"confirm", "location", "quota", "setting", "refresh"},
		"users":   {"policy"},
		"keys":    {"expires"},
		"tokens":  {"name", "scopes", "ttl"},
		"heal":    {"objects-per-second", "watch"},
		"audit":   {"from", "to", "identity", "bucket", "action", "limit", "after", "dir", "data", "kms", "no-anchor"},
	}
)

// checkFlags refuses a flag that command does not take.
func checkFlags(command string, flags map[string][]string) error {
	for name := range flags {
		if !slices.Contains(globalFlags, name) && !slices.Contains(commandFlags[command], name) {
			return fmt.Errorf("admin: unknown flag --%s for %q (objstore admin --help)", name, command)
		}
	}
	return nil
}

func flag1(f map[string][]string, name string) string {
	if v := f[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func (c *adminCLI) run(ctx context.Context, args []string) error {
	pos, flags, err := cliArgs(args, "json", "watch", "help", "h", "refresh", "no-anchor")
	if err != nil {
		return err
	}
	if flag1(flags, "help") != "" || flag1(flags, "h") != "" {
		if len(pos) > 0 {
			fmt.Fprint(c.stdout, commandUsage(pos[0]))
		} else {
			fmt.Fprint(c.stdout, adminUsage)
		}
		return nil
	}
	if len(pos) == 0 {
		fmt.Fprint(c.stderr, adminUsage)
		return errors.New("admin: no command given")
	}
	if err := checkFlags(pos[0], flags); err != nil {
		return err
	}
	c.json = flag1(flags, "json") == "true"
	c.rootCreds = flag1(flags, "root-credentials")
	if pos[0] == "alias" {
		return c.aliasCmd(pos[1:])
	}
	if pos[0] == "audit" && len(pos) > 1 && pos[1] == "verify" && flag1(flags, "dir") != "" {
		return c.verifyOffline(ctx, flag1(flags, "dir"), flags)
	}
	if err := c.connect(flags); err != nil {
		return err
	}
	cmd, rest := pos[0], pos[1:]
	sub := ""
	if len(rest) > 0 {
		sub, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "cluster":
		return c.cluster(ctx)
	case "zones":
		return c.zones(ctx)
	case "buckets":
		return c.buckets(ctx, sub, rest, flags)
	case "users":
		return c.users(ctx, sub, rest, flags)
	case "keys":
		return c.keys(ctx, sub, rest, flags)
	case "policies":
		return c.policies(ctx, sub, rest)
	case "tokens":
		return c.tokens(ctx, sub, rest, flags)
	case "heal":
		return c.heal(ctx, sub, flags)
	case "audit":
		return c.audit(ctx, sub, flags)
	case "kms":
		return c.kms(ctx, sub, rest)
	}
	return fmt.Errorf("admin: unknown command %q (objstore admin --help)", cmd)
}

// connect picks the server and token: flags, then environment, then
// the alias file. An alias's token goes only to the alias's own URL:
// --url or OBJSTORE_ADMIN_URL naming another server must not receive it.
func (c *adminCLI) connect(flags map[string][]string) error {
	u, tok := flag1(flags, "url"), flag1(flags, "token")
	if u == "" {
		u = c.getenv("OBJSTORE_ADMIN_URL")
	}
	if tok == "" {
		tok = c.getenv("OBJSTORE_ADMIN_TOKEN")
	}
	if u == "" || tok == "" {
		name := flag1(flags, "alias")
		if name == "" {
			name = "default"
		}
		aliases, err := c.loadAliases()
		if err != nil {
			return err
		}
		if a, ok := aliases[name]; ok {
			if u == "" {
				u = a.URL
			}
			if tok == "" && sameServer(u, a.URL) {
				tok = a.Token
			}
		}
	}
	if u == "" {
		return errors.New("admin: no server: set --url, OBJSTORE_ADMIN_URL or `objstore admin alias set default URL TOKEN`")
	}
	c.client = &admin.Client{URL: u, Token: tok}
	return nil
}

// sameServer reports whether two base URLs name the same server, up to
// a trailing slash.
func sameServer(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

func (c *adminCLI) loadAliases() (map[string]alias, error) {
	m := map[string]alias{}
	b, err := os.ReadFile(c.aliasFile)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("admin: aliases: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("admin: aliases file %s: %w", c.aliasFile, err)
	}
	return m, nil
}

func (c *adminCLI) aliasCmd(args []string) error {
	m, err := c.loadAliases()
	if err != nil {
		return err
	}
	switch {
	case len(args) >= 3 && args[0] == "set" && len(args) <= 4:
		if u, err := url.Parse(args[2]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("admin: alias URL %q: want http://host:port or https://host:port", args[2])
		}
		a := alias{URL: args[2]}
		if len(args) == 4 {
			a.Token = args[3]
		}
		m[args[1]] = a
	case len(args) == 2 && args[0] == "rm":
		delete(m, args[1])
	case len(args) == 1 && args[0] == "ls":
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		return c.table([]string{"ALIAS", "URL", "TOKEN"}, len(names), func(i int) []string {
			tok := "-"
			if m[names[i]].Token != "" {
				tok = "set"
			}
			return []string{names[i], m[names[i]].URL, tok}
		}, m)
	default:
		return errors.New("admin: usage: alias set NAME URL [TOKEN] | alias ls | alias rm NAME")
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.MkdirAll(filepath.Dir(c.aliasFile), 0o700); err != nil {
		return fmt.Errorf("admin: aliases: %w", err)
	}
	return writePrivate(c.aliasFile, append(b, '\n'))
}

// writePrivate replaces path with data, readable by its owner only: the
// alias file holds tokens. os.WriteFile's mode applies only to a new
// file, so an existing file would keep looser permissions; instead a
// temporary file (created 0600) in the same directory is renamed over
// it (CreateTemp makes files 0600), which also leaves the old file whole
// if the write fails.
func writePrivate(path string, data []byte) error {
	// A symlinked aliases file (a dotfiles link) is written through, as
	// os.WriteFile did, not replaced by a regular file; the temporary file
	// goes beside the target, so the rename stays in one directory.
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(path); err == nil {
			path = target
		} else if link, err := os.Readlink(path); err == nil {
			// A dangling link: its target is created, as os.WriteFile
			// would have created it.
			if !filepath.IsAbs(link) {
				link = filepath.Join(filepath.Dir(path), link)
			}
			path = link
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("admin: aliases: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename, a no-op
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("admin: aliases: %w", err)
	}
	// Synced before the rename, so a crash leaves the old file or the
	// new one, never an empty one.
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("admin: aliases: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("admin: aliases: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("admin: aliases: %w", err)
	}
	return nil
}

// table prints rows as an aligned table, or v as JSON with --json.
// Cells are made printable.
func (c *adminCLI) table(header []string, n int, row func(int) []string, v any) error {
	if c.json {
		return c.printJSON(v)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i := range n {
		cells := row(i)
		for j := range cells {
			cells[j] = admin.Printable(cells[j])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func (c *adminCLI) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

// fields prints one record as "name: value" lines, or JSON. Values
// are made printable.
func (c *adminCLI) fields(v any, kv ...string) error {
	if c.json {
		return c.printJSON(v)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 1, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], admin.Printable(kv[i+1]))
	}
	return tw.Flush()
}

func need(args []string, n int, usage string) error {
	if len(args) != n {
		return fmt.Errorf("admin: usage: %s", usage)
	}
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func human(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func (c *adminCLI) cluster(ctx context.Context) error {
	var cl admin.Cluster
	if err := c.client.Do(ctx, "GET", "/cluster", nil, &cl); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(cl)
	}
	fmt.Fprintf(c.stdout, "node %s, ready %v %s\n", admin.Printable(cl.Node), cl.Ready, admin.Printable(cl.Reason))
	if cl.KMS != nil {
		fmt.Fprintln(c.stdout, kmsLine(*cl.KMS))
	}
	var drives []admin.DriveStatus
	for _, s := range cl.Sets {
		drives = append(drives, s...)
	}
	err := c.table([]string{"SET", "POS", "ZONE", "STATE", "FREE", "TOTAL", "PATH"}, len(drives), func(i int) []string {
		d := drives[i]
		return []string{strconv.Itoa(d.Set), strconv.Itoa(d.Position), d.Zone, d.State, human(d.Free), human(d.Total), d.Path}
	}, nil)
	if err != nil {
		return err
	}
	for _, d := range drives {
		if d.Error != "" {
			fmt.Fprintf(c.stdout, "set %d position %d (%s): %s\n", d.Set, d.Position, d.State, admin.Printable(d.Error))
		}
	}
	return nil
}

// kmsLine shows the KMS's state in `admin cluster`: backend, up or
// down, since when and, while down, why.
func kmsLine(k admin.KMSHealth) string {
	line := fmt.Sprintf("kms %s %s since %s", admin.Printable(k.Backend), admin.Printable(k.State), when(k.Since))
	if k.Cause != "" {
		line += ": " + admin.Printable(k.Cause)
	}
	return line
}

func (c *adminCLI) zones(ctx context.Context) error {
	var zs []admin.Zone
	if err := c.client.Do(ctx, "GET", "/zones", nil, &zs); err != nil {
		return err
	}
	return c.table([]string{"ZONE", "DRIVES", "ONLINE", "FREE", "TOTAL"}, len(zs), func(i int) []string {
		z := zs[i]
		return []string{z.Name, strconv.Itoa(z.Drives), strconv.Itoa(z.Online), human(z.Free), human(z.Total)}
	}, zs)
}

func (c *adminCLI) buckets(ctx context.Context, sub string, args []string, flags map[string][]string) error {
	switch sub {
	case "ls":
		var bs []admin.Bucket
		if err := c.client.Do(ctx, "GET", "/buckets", nil, &bs); err != nil {
			return err
		}
		return c.table([]string{"BUCKET", "CREATED", "LOCATION", "QUOTA", "USED", "OBJECTS", "POLICY"}, len(bs), func(i int) []string {
			b := bs[i]
			q := "-"
			if b.Quota > 0 {
				q = human(uint64(b.Quota))
			}
			used, objects := "…", "…" // not counted yet: the server counts in the background
			if b.Usage != nil {
				used, objects = human(uint64(b.Usage.TotalBytes+b.Usage.UploadBytes)), strconv.FormatInt(b.Usage.Objects, 10)
			}
			return []string{b.Name, when(b.Created), b.Location, q, used, objects, strconv.FormatBool(b.HasPolicy)}
		}, bs)
	case "create":
		if err := need(args, 1, "buckets create NAME [--location L] [--quota BYTES] [--setting k=v]"); err != nil {
			return err
		}
		req := admin.CreateBucketRequest{Name: args[0], Location: flag1(flags, "location")}
		if q := flag1(flags, "quota"); q != "" {
			n, err := parseSize(q)
			if err != nil {
				return fmt.Errorf("admin: --quota: %w", err)
			}
			req.Quota = n
		}
		for _, s := range flags["setting"] {
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				return fmt.Errorf("admin: --setting %q: want k=v", s)
			}
			if req.Settings == nil {
				req.Settings = map[string]string{}
			}
			req.Settings[k] = v
		}
		var b admin.Bucket
		if err := c.client.Do(ctx, "POST", "/buckets", req, &b); err != nil {
			return err
		}
		return c.fields(b, "created bucket", b.Name)
	case "info":
		if err := need(args, 1, "buckets info NAME"); err != nil {
			return err
		}
		var b admin.Bucket
		if err := c.client.Do(ctx, "GET", "/buckets/"+url.PathEscape(args[0]), nil, &b); err != nil {
			return err
		}
		kv := []string{"bucket", b.Name, "created", when(b.Created), "location", b.Location,
			"quota bytes", strconv.FormatInt(b.Quota, 10), "policy", strconv.FormatBool(b.HasPolicy)}
		if b.Usage != nil {
			kv = append(kv, usageFields(*b.Usage)...)
		}
		return c.fields(b, kv...)
	case "shred":
		if err := need(args, 1, "buckets shred NAME --confirm NAME"); err != nil {
			return err
		}
		var rep encryption.ShredReport
		if err := c.client.Do(ctx, "POST", "/buckets/"+url.PathEscape(args[0])+"/shred", admin.ShredRequest{Confirm: flag1(flags, "confirm")}, &rep); err != nil {
			return err
		}
		keys := make([]string, len(rep.Keys))
		for i, k := range rep.Keys {
			keys[i] = string(k.Master) + "/" + k.ID
		}
		return c.fields(rep, "shredded bucket", rep.Bucket, "keys destroyed", strings.Join(keys, ","),
			"objects unreadable", strconv.FormatInt(rep.Objects, 10), "bytes", human(uint64(rep.Bytes)),
			"uploads unusable", strconv.FormatInt(rep.Uploads, 10))
	case "quota", "usage":
		return c.bucketQuota(ctx, sub, args, flags)
	}
	return errors.New("admin: usage: buckets ls|create|info|quota|usage|shred")
}

func (c *adminCLI) users(ctx context.Context, sub string, args []string, flags map[string][]string) error {
	showUser := func(u admin.User) error {
		return c.fields(u, "user", u.Name, "enabled", strconv.FormatBool(u.Enabled),
			"policies", strings.Join(u.Policies, ","), "created", when(u.Created))
	}
	var u admin.User
	switch sub {
	case "ls":
		var us []admin.User
		if err := c.client.Do(ctx, "GET", "/users", nil, &us); err != nil {
			return err
		}
		return c.table([]string{"USER", "ENABLED", "POLICIES", "CREATED"}, len(us), func(i int) []string {
			return []string{us[i].Name, strconv.FormatBool(us[i].Enabled), strings.Join(us[i].Policies, ","), when(us[i].Created)}
		}, us)
	case "add":
		if err := need(args, 1, "users add NAME [--policy P,...]"); err != nil {
			return err
		}
		req := admin.CreateUserRequest{Name: args[0]}
		for _, p := range flags["policy"] {
			req.Policies = append(req.Policies, strings.Split(p, ",")...)
		}
		if err := c.client.Do(ctx, "POST", "/users", req, &u); err != nil {
			return err
		}
		return showUser(u)
	case "info":
		if err := need(args, 1, "users info NAME"); err != nil {
			return err
		}
		if err := c.client.Do(ctx, "GET", "/users/"+url.PathEscape(args[0]), nil, &u); err != nil {
			return err
		}
		return showUser(u)
	case "rm":
		if err := need(args, 1, "users rm NAME"); err != nil {
			return err
		}
		return c.client.Do(ctx, "DELETE", "/users/"+url.PathEscape(args[0]), nil, nil)
	case "enable", "disable":
		if err := need(args, 1, "users "+sub+" NAME"); err != nil {
			return err
		}
		if err := c.client.Do(ctx, "POST", "/users/"+url.PathEscape(args[0])+"/"+sub, nil, &u); err != nil {
			return err
		}
		return showUser(u)
	case "policy":
		if len(args) != 2 && len(args) != 1 {
			return errors.New("admin: usage: users policy NAME P[,P...] (no list: detach all)")
		}
		req := admin.PoliciesRequest{Policies: []string{}}
		if len(args) == 2 && args[1] != "" {
			req.Policies = strings.Split(args[1], ",")
		}
		if err := c.client.Do(ctx, "PUT", "/users/"+url.PathEscape(args[0])+"/policies", req, &u); err != nil {
			return err
		}
		return showUser(u)
	}
	return errors.New("admin: usage: users ls|add|info|rm|enable|disable|policy")
}

func (c *adminCLI) keys(ctx context.Context, sub string, args []string, flags map[string][]string) error {
	var k admin.AccessKey
	switch sub {
	case "add":
		if err := need(args, 1, "keys add USER [--expires RFC3339]"); err != nil {
			return err
		}
		var req admin.CreateKeyRequest
		if e := flag1(flags, "expires"); e != "" {
			t, err := time.Parse(time.RFC3339, e)
			if err != nil {
				return fmt.Errorf("admin: --expires: %w", err)
			}
			req.Expires = t
		}
		var nk admin.NewAccessKey
		if err := c.client.Do(ctx, "POST", "/users/"+url.PathEscape(args[0])+"/keys", req, &nk); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintln(c.stderr, "The secret key is shown this once: store it now.")
		}
		return c.fields(nk, "access key", nk.ID, "secret key", nk.Secret, "user", nk.User, "expires", when(nk.Expires))
	case "ls":
		if err := need(args, 1, "keys ls USER"); err != nil {
			return err
		}
		var ks []admin.AccessKey
		if err := c.client.Do(ctx, "GET", "/users/"+url.PathEscape(args[0])+"/keys", nil, &ks); err != nil {
			return err
		}
		return c.table([]string{"ACCESS KEY", "USER", "ENABLED", "CREATED", "EXPIRES"}, len(ks), func(i int) []string {
			return []string{ks[i].ID, ks[i].User, strconv.FormatBool(ks[i].Enabled), when(ks[i].Created), when(ks[i].Expires)}
		}, ks)
	case "enable", "disable":
		if err := need(args, 1, "keys "+sub+" ID"); err != nil {
			return err
		}
		if err := c.client.Do(ctx, "POST", "/keys/"+url.PathEscape(args[0])+"/"+sub, nil, &k); err != nil {
			return err
		}
		return c.fields(k, "access key", k.ID, "enabled", strconv.FormatBool(k.Enabled))
	case "rm":
		if err := need(args, 1, "keys rm ID"); err != nil {
			return err
		}
		return c.client.Do(ctx, "DELETE", "/keys/"+url.PathEscape(args[0]), nil, nil)
	}
	return errors.New("admin: usage: keys add|ls|enable|disable|rm")
}

func (c *adminCLI) policies(ctx context.Context, sub string, args []string) error {
	var p admin.Policy
	switch sub {
	case "ls":
		var ps []admin.Policy
		if err := c.client.Do(ctx, "GET", "/policies", nil, &ps); err != nil {
			return err
		}
		return c.table([]string{"POLICY", "BUILTIN", "USERS", "UPDATED"}, len(ps), func(i int) []string {
			return []string{ps[i].Name, strconv.FormatBool(ps[i].Builtin), strings.Join(ps[i].Users, ","), when(ps[i].Updated)}
		}, ps)
	case "get":
		if err := need(args, 1, "policies get NAME"); err != nil {
			return err
		}
		if err := c.client.Do(ctx, "GET", "/policies/"+url.PathEscape(args[0]), nil, &p); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(p)
		}
		return c.printJSON(p.Document)
	case "put":
		if err := need(args, 2, "policies put NAME FILE|-"); err != nil {
			return err
		}
		var doc []byte
		var err error
		if args[1] == "-" {
			doc, err = io.ReadAll(os.Stdin)
		} else {
			doc, err = os.ReadFile(args[1])
		}
		if err != nil {
			return fmt.Errorf("admin: policy document: %w", err)
		}
		if err := c.client.Do(ctx, "PUT", "/policies/"+url.PathEscape(args[0]), doc, &p); err != nil {
			return err
		}
		return c.fields(p, "policy", p.Name, "users", strings.Join(p.Users, ","))
	case "rm":
		if err := need(args, 1, "policies rm NAME"); err != nil {
			return err
		}
		return c.client.Do(ctx, "DELETE", "/policies/"+url.PathEscape(args[0]), nil, nil)
	}
	return errors.New("admin: usage: policies ls|get|put|rm")
}

// rootClient returns a client authenticated with the root credentials,
// for minting tokens.
func (c *adminCLI) rootClient() (*admin.Client, error) {
	user, pass := c.getenv("OBJSTORE_ROOT_USER"), c.getenv("OBJSTORE_ROOT_PASSWORD")
	if c.rootCreds != "" {
		b, err := os.ReadFile(c.rootCreds)
		if err != nil {
			return nil, fmt.Errorf("admin: root credentials: %w", err)
		}
		var rc struct{ AccessKey, SecretKey string }
		if err := json.Unmarshal(b, &rc); err != nil {
			return nil, fmt.Errorf("admin: root credentials %s: %w", c.rootCreds, err)
		}
		user, pass = rc.AccessKey, rc.SecretKey
	}
	if user == "" || pass == "" {
		return nil, errors.New("admin: minting needs the root credentials: OBJSTORE_ROOT_USER/OBJSTORE_ROOT_PASSWORD or --root-credentials FILE")
	}
	return &admin.Client{URL: c.client.URL, RootUser: user, RootSecret: pass}, nil
}

func (c *adminCLI) tokens(ctx context.Context, sub string, args []string, flags map[string][]string) error {
	switch sub {
	case "ls":
		var ts []admin.Token
		if err := c.client.Do(ctx, "GET", "/tokens", nil, &ts); err != nil {
			return err
		}
		return c.table([]string{"ID", "NAME", "SCOPES", "EXPIRES", "REVOKED"}, len(ts), func(i int) []string {
			return []string{ts[i].ID, ts[i].Name, strings.Join(ts[i].Scopes, ","), when(ts[i].Expires), when(ts[i].Revoked)}
		}, ts)
	case "mint":
		rc, err := c.rootClient()
		if err != nil {
			return err
		}
		req := admin.MintRequest{Name: flag1(flags, "name"), TTL: flag1(flags, "ttl")}
		if req.TTL == "" {
			req.TTL = "720h"
		}
		for _, s := range flags["scopes"] {
			req.Scopes = append(req.Scopes, strings.Split(s, ",")...)
		}
		var nt admin.NewToken
		if err := rc.Do(ctx, "POST", "/tokens", req, &nt); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintln(c.stderr, "The token is shown this once: store it now.")
		}
		return c.fields(nt, "token", nt.Secret, "id", nt.ID, "scopes", strings.Join(nt.Scopes, ","), "expires", when(nt.Expires))
	case "revoke":
		if err := need(args, 1, "tokens revoke ID"); err != nil {
			return err
		}
		return c.client.Do(ctx, "DELETE", "/tokens/"+url.PathEscape(args[0]), nil, nil)
	}
	return errors.New("admin: usage: tokens ls|mint|revoke")
}

func (c *adminCLI) heal(ctx context.Context, sub string, flags map[string][]string) error {
	var st admin.HealStatus
	switch sub {
	case "start":
		var req admin.HealRequest
		if v := flag1(flags, "objects-per-second"); v != "" {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("admin: --objects-per-second: %w", err)
			}
			req.ObjectsPerSecond = n
		}
		if err := c.client.Do(ctx, "POST", "/heal/start", req, &st); err != nil {
			return err
		}
	case "stop":
		if err := c.client.Do(ctx, "POST", "/heal/stop", nil, &st); err != nil {
			return err
		}
	case "status":
		if err := c.client.Do(ctx, "GET", "/heal/status", nil, &st); err != nil {
			return err
		}
		if flag1(flags, "watch") == "true" {
			return c.watchHeal(ctx, st)
		}
	default:
		return errors.New("admin: usage: heal start|stop|status [--watch]")
	}
	return c.healFields(st)
}

func (c *adminCLI) healFields(st admin.HealStatus) error {
	return c.fields(st, "running", strconv.FormatBool(st.Running), "pass", strconv.Itoa(st.Pass),
		"started", when(st.Started), "finished", when(st.Finished),
		"objects", fmt.Sprintf("%d scanned of %d, %d healed, %d degraded, %d failed", st.ObjectsScanned, st.ObjectsTotal, st.ObjectsHealed, st.ObjectsDegraded, st.ObjectsFailed),
		"bytes scanned", human(uint64(max(st.BytesScanned, 0))), "next pass", when(st.NextPass), "last error", st.LastError)
}

// watchHeal polls the status until the pass ends, drawing a progress
// bar on a terminal and one line per poll otherwise.
func (c *adminCLI) watchHeal(ctx context.Context, st admin.HealStatus) error {
	for {
		line := progressLine(st)
		if c.interactive && !c.json {
			fmt.Fprintf(c.stdout, "\r%s", line)
		} else if c.json {
			_ = c.printJSON(st)
		} else {
			fmt.Fprintln(c.stdout, line)
		}
		if !st.Running {
			if c.interactive && !c.json {
				fmt.Fprintln(c.stdout)
			}
			return passOutcome(st)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.poll):
		}
		if err := c.client.Do(ctx, "GET", "/heal/status", nil, &st); err != nil {
			return err
		}
	}
}

// passOutcome is watchHeal's answer for a pass that ended: an error, so
// that a script's `heal start && heal status --watch` fails, when the
// pass was stopped, met objects it could not heal, or failed.
func passOutcome(st admin.HealStatus) error {
	switch {
	case st.Stopped:
		return fmt.Errorf("admin: heal pass %d was stopped after %d of %d objects", st.Pass, st.ObjectsScanned, st.ObjectsTotal)
	case st.ObjectsFailed > 0:
		return fmt.Errorf("admin: heal pass %d could not heal %d objects (objstore admin heal status: last error; the server log names them)", st.Pass, st.ObjectsFailed)
	case st.LastError != "":
		return fmt.Errorf("admin: heal pass %d ended with an error: %s", st.Pass, st.LastError)
	}
	return nil
}

func progressLine(st admin.HealStatus) string {
	const width = 30
	frac := 0.0
	if st.ObjectsTotal > 0 {
		frac = min(1, float64(st.ObjectsScanned)/float64(st.ObjectsTotal))
	}
	if !st.Running && st.Pass > 0 && !st.Stopped && st.LastError == "" {
		frac = 1 // the count taken at its start may differ from what it walked
	}
	n := int(frac * width)
	state := "running"
	switch {
	case st.Running:
	case st.Stopped:
		state = "stopped"
	case st.ObjectsFailed > 0 || st.LastError != "":
		state = "failed"
	default:
		state = "done"
	}
	return fmt.Sprintf("[%s%s] %3.0f%% %d/%d objects, %d healed, %d failed, ETA %s (%s)",
		strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, st.ObjectsScanned, st.ObjectsTotal,
		st.ObjectsHealed, st.ObjectsFailed, (time.Duration(st.ETASeconds) * time.Second).String(), state)
}

func (c *adminCLI) auditQuery(flags map[string][]string) string {
	q := url.Values{}
	for _, k := range []string{"from", "to", "identity", "bucket", "action", "limit", "after"} {
		if v := flag1(flags, k); v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func (c *adminCLI) audit(ctx context.Context, sub string, flags map[string][]string) error {
	switch sub {
	case "query":
		var page admin.AuditPage
		if err := c.client.Do(ctx, "GET", "/audit"+c.auditQuery(flags), nil, &page); err != nil {
			return err
		}
		rs := page.Records
		err := c.table([]string{"SEQ", "TIME", "IDENTITY", "SOURCE", "ACTION", "BUCKET", "KEY", "STATUS", "ERROR", "REASON"}, len(rs), func(i int) []string {
			r := rs[i]
			return []string{strconv.FormatUint(r.Seq, 10), r.Time.Local().Format(time.RFC3339), r.Identity, r.Source, r.Action, r.Bucket, r.Key, strconv.Itoa(r.Status), r.Error, r.Reason}
		}, page)
		if err == nil && page.Next != 0 && !c.json {
			fmt.Fprintf(c.stderr, "more records: --after %d\n", page.Next)
		}
		return err
	case "export":
		resp, err := c.client.Open(ctx, "GET", "/audit/export"+c.auditQuery(flags), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(c.stdout, resp.Body); err != nil {
			return fmt.Errorf("admin: export: %w", err)
		}
		return nil
	case "verify":
		var v admin.AuditVerification
		if err := c.client.Do(ctx, "GET", "/audit/verify", nil, &v); err != nil {
			return err
		}
		return c.verifyResult(v)
	}
	return errors.New("admin: usage: audit query|export|verify")
}

// errTampered makes the command exit non-zero when verification fails.
var errTampered = errors.New("admin: the audit log failed verification")

func (c *adminCLI) verifyResult(v admin.AuditVerification) error {
	if c.json {
		if err := c.printJSON(v); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "%d records (%d..%d) in %d files, head %s\n", v.Records, v.First, v.Last, v.Files, admin.Printable(v.Head))
		if !v.AnchorTime.IsZero() {
			fmt.Fprintf(c.stdout, "anchored at record %d, %s\n", v.AnchorSeq, when(v.AnchorTime))
		}
		for _, is := range v.Issues {
			fmt.Fprintln(c.stdout, admin.Printable(is))
		}
		switch {
		case v.OK && v.Gaps > 0:
			fmt.Fprintf(c.stdout, "OK: the chain is intact, but %d events were not recorded while the log was stopped (%d gaps, above)\n", v.Unrecorded, v.Gaps)
		case v.OK:
			fmt.Fprintln(c.stdout, "OK: the chain is intact")
		}
	}
	if !v.OK {
		return errTampered
	}
	return nil
}

func (c *adminCLI) kms(ctx context.Context, sub string, args []string) error {
	switch sub {
	case "ls":
		var ks []admin.KMSKey
		if err := c.client.Do(ctx, "GET", "/kms/keys", nil, &ks); err != nil {
			return err
		}
		return c.table([]string{"KEY", "BACKEND", "VERSION", "ENABLED", "CREATED"}, len(ks), func(i int) []string {
			k := ks[i]
			return []string{k.ID, k.Backend, strconv.Itoa(k.Version), strconv.FormatBool(k.Enabled), when(k.Created)}
		}, ks)
	case "create":
		if err := need(args, 1, "kms create ID"); err != nil {
			return err
		}
		var k admin.KMSKey
		if err := c.client.Do(ctx, "POST", "/kms/keys", admin.CreateKMSKeyRequest{ID: args[0]}, &k); err != nil {
			return err
		}
		return c.fields(k, "created KMS key", k.ID)
	case "rotate":
		if err := need(args, 1, "kms rotate ID"); err != nil {
			return err
		}
		var rep encryption.RotateReport
		if err := c.client.Do(ctx, "POST", "/kms/keys/"+url.PathEscape(args[0])+"/rotate", nil, &rep); err != nil {
			return err
		}
		if err := c.fields(rep, "rotated KMS key", string(rep.Key), "version", strconv.Itoa(rep.Version),
			"bucket keys rewrapped", strconv.Itoa(len(rep.Rewrapped)), "failed", strconv.Itoa(len(rep.Failed))); err != nil {
			return err
		}
		if len(rep.Failed) > 0 {
			// Named, and a failure status: the old version is still needed.
			for what, why := range rep.Failed {
				fmt.Fprintf(c.stderr, "not rewrapped: %s: %s\n", admin.Printable(what), admin.Printable(why))
			}
			return fmt.Errorf("admin: the rotation left %d failures; rotate again before retiring the old version", len(rep.Failed))
		}
		return nil
	}
	return errors.New("admin: usage: kms ls|create|rotate")
}
