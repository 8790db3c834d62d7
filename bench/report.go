package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// formatMs prints a latency given in milliseconds with three significant
// digits and a unit that suits it: "850µs", "12.3ms", "2.05s".
func formatMs(ms float64) string {
	switch {
	case ms <= 0:
		return "-"
	case ms < 1:
		return strconv.FormatFloat(ms*1000, 'f', digitsFor(ms*1000), 64) + "µs"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', digitsFor(ms), 64) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', digitsFor(ms/1000), 64) + "s"
}

// digitsFor returns how many decimals give v three significant digits.
func digitsFor(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	}
	return 2
}

// formatRate prints a rate with precision that suits its size.
func formatRate(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// WriteS3Table prints res for people: a header naming the run, the table of
// operations (ops, ops/s, MiB/s, latency p50/p90/p99/max, errors), the
// first error of each failing row, and what the clean-up did.
func WriteS3Table(w io.Writer, res *S3Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "objstore bench s3: %s, objects of %s", res.Workload, FormatSize(res.Size))
	if res.PartSize > 0 {
		fmt.Fprintf(&b, " in %s parts", FormatSize(res.PartSize))
	}
	if res.Mix != "" {
		fmt.Fprintf(&b, ", get:put:delete %s", res.Mix)
	}
	fmt.Fprintf(&b, ", %d clients, %.1fs, %s, bucket %s\n", res.Concurrency, res.Seconds, res.Endpoint, res.Bucket)
	if res.Interrupted {
		b.WriteString("interrupted: the figures cover the run until the interruption\n")
	}
	if p := res.Prepare; p != nil {
		fmt.Fprintf(&b, "pre-created %d objects in %.1fs (%s PUT/s, %s MiB/s, p99 %s)\n",
			res.Objects, p.Seconds, formatRate(p.OpsPerSec), formatRate(p.MiBPerSec), formatMs(p.Latency.P99))
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Numbers align right; the operation names are padded to one width
	// first, which makes them align left.
	width := len("operation")
	for _, o := range res.Ops {
		width = max(width, len(o.Op))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-len(s)) }
	fmt.Fprintf(tw, "%s\tops\tops/s\tMiB/s\tp50\tp90\tp99\tmax\terrors\t\n", pad("operation"))
	for _, o := range res.Ops {
		mib := "-"
		if o.Bytes > 0 {
			mib = formatRate(o.MiBPerSec)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", pad(o.Op), o.Ops, formatRate(o.OpsPerSec), mib,
			formatMs(o.Latency.P50), formatMs(o.Latency.P90), formatMs(o.Latency.P99), formatMs(o.Latency.Max), o.Errors)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	for _, o := range res.Ops {
		if o.Objects > 0 {
			fmt.Fprintf(&b, "%s: %d objects listed, %s objects/s\n", o.Op, o.Objects, formatRate(o.ObjectsPerSec))
		}
	}
	if res.StandInPuts > 0 {
		fmt.Fprintf(&b, "%d PUTs stood in for GETs and DELETEs whose client had no object left (raise --objects)\n", res.StandInPuts)
	}
	if res.RanOut {
		fmt.Fprintf(&b, "the pre-created objects ran out after %.1fs, before --duration (raise --objects)\n", res.Seconds)
	}
	for _, o := range res.Ops {
		if o.FirstError != "" {
			fmt.Fprintf(&b, "first %s error: %s\n", o.Op, o.FirstError)
		}
	}
	c := res.Cleanup
	switch {
	case c.Kept:
		fmt.Fprintf(&b, "kept: objects under %s in bucket %s\n", res.Prefix, res.Bucket)
	default:
		fmt.Fprintf(&b, "clean-up: removed %d objects", c.ObjectsRemoved)
		if c.UploadsAborted > 0 {
			fmt.Fprintf(&b, ", aborted %d uploads", c.UploadsAborted)
		}
		if c.BucketRemoved {
			fmt.Fprintf(&b, " and bucket %s", res.Bucket)
		}
		b.WriteString("\n")
		if res.BucketCreated {
			fmt.Fprintf(&b, "bucket %s was created by this run and stays (it was named with --bucket)\n", res.Bucket)
		}
		if c.Error != "" {
			fmt.Fprintf(&b, "clean-up failed: %s\n", c.Error)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	return nil
}

// WritePipelineTable prints a pipeline result for people: the stages, the
// chains against their serial model, and the ceilings with their arithmetic.
func WritePipelineTable(w io.Writer, res *PipelineResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "objstore bench pipeline: erasure %s, %s blocks, %s objects, %s packages, %s",
		res.Geometry, FormatSize(int64(res.BlockSize)), FormatSize(int64(res.ObjectSize)), FormatSize(int64(res.PackageSize)), res.GoVersion)
	if res.CPU != "" {
		fmt.Fprintf(&b, ", %s", res.CPU)
	}
	b.WriteString("\nMB/s = 10^6 bytes of input per second, one goroutine (one core)\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "stage\tMB/s\tnote\n")
	for _, s := range res.Stages {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, formatRate(s.MBPerSec), s.Note)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "chain (one core)\tMB/s\tserial model 1/Σ(1/rate)\n")
	for _, c := range res.Chains {
		model := "-"
		if c.SerialMBPerSec > 0 {
			model = fmt.Sprintf("%s (%s)", formatRate(c.SerialMBPerSec), strings.Join(c.Stages, " + "))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, formatRate(c.MBPerSec), model)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	fmt.Fprintf(&b, "\nceilings with %d cores (upper bounds: perfect overlap, no hand-off cost):\n", res.Cores)
	for _, c := range res.Chains {
		fmt.Fprintf(&b, "  %s\n", c.Name)
		for _, a := range c.Arithmetic {
			fmt.Fprintf(&b, "    %s\n", a)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	return nil
}
