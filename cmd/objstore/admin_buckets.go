package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/objstore/objstore/admin"
)

// bucketQuota runs `buckets quota NAME SIZE` and `buckets usage NAME`.
func (c *adminCLI) bucketQuota(ctx context.Context, sub string, args []string, flags map[string][]string) error {
	switch sub {
	case "quota":
		if err := need(args, 2, "buckets quota NAME SIZE (0 removes it)"); err != nil {
			return err
		}
		n, err := parseSize(args[1])
		if err != nil {
			return fmt.Errorf("admin: quota: %w", err)
		}
		var b admin.Bucket
		if err := c.client.Do(ctx, "PUT", "/buckets/"+url.PathEscape(args[0])+"/quota", admin.QuotaRequest{Quota: n}, &b); err != nil {
			return err
		}
		q := "none"
		if b.Quota > 0 {
			q = fmt.Sprintf("%s (%d bytes)", human(uint64(b.Quota)), b.Quota)
		}
		return c.fields(b, "bucket", b.Name, "quota", q)
	case "usage":
		if err := need(args, 1, "buckets usage NAME [--refresh]"); err != nil {
			return err
		}
		path := "/buckets/" + url.PathEscape(args[0]) + "/usage"
		if flag1(flags, "refresh") == "true" {
			path += "?refresh=true"
		}
		var u admin.BucketUsageResponse
		if err := c.client.Do(ctx, "GET", path, nil, &u); err != nil {
			return err
		}
		q := "none"
		if u.Quota > 0 {
			used := u.TotalBytes + u.UploadBytes
			q = fmt.Sprintf("%s, %.1f%% used", human(uint64(u.Quota)), 100*float64(used)/float64(u.Quota))
		}
		return c.fields(u, append([]string{"bucket", u.Bucket, "quota", q}, usageFields(u.BucketUsage)...)...)
	}
	return errors.New("admin: usage: buckets quota NAME SIZE | buckets usage NAME [--refresh]")
}

// usageFields are the "name: value" lines of a bucket's usage.
func usageFields(u admin.BucketUsage) []string {
	return []string{
		"objects", fmt.Sprintf("%d (%d versions)", u.Objects, u.Versions),
		"current bytes", fmt.Sprintf("%s (%d)", human(uint64(max(u.CurrentBytes, 0))), u.CurrentBytes),
		"all versions", fmt.Sprintf("%s (%d)", human(uint64(max(u.TotalBytes, 0))), u.TotalBytes),
		"stored", human(uint64(max(u.StoredBytes, 0))) + " (encrypted, before erasure coding)",
		"uploads", fmt.Sprintf("%d in progress, %s", u.Uploads, human(uint64(max(u.UploadBytes, 0)))),
		"counted", when(u.ComputedAt) + " (plus changes since)",
	}
}

// parseSize reads a byte count: digits with an optional unit, K/M/G/T/P
// as powers of 1000 (KB, MB...) or, with an i, of 1024 (KiB, MiB...).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with KB, MiB, GiB...)", s)
	}
	unit = strings.TrimSuffix(unit, "B")
	base := 1000.0
	if strings.HasSuffix(unit, "I") {
		base, unit = 1024, strings.TrimSuffix(unit, "I")
	}
	exp := 0
	if unit != "" {
		exp = strings.Index("KMGTP", unit) + 1
		if len(unit) > 1 || exp == 0 {
			return 0, fmt.Errorf("%q: unknown unit", s)
		}
	}
	n := v * math.Pow(base, float64(exp))
	if n > math.MaxInt64/2 || (exp == 0 && strings.Contains(num, ".")) {
		return 0, fmt.Errorf("%q is not a whole number of bytes in range", s)
	}
	return int64(math.Round(n)), nil
}
