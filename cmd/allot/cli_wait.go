package main

// Waiting for a group to finish processing (--wait), with a progress bar on
// a terminal and plain periodic lines otherwise.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// defaultPoll is how often --wait asks the server unless --poll says.
const defaultPoll = 500 * time.Millisecond

// addPollFlag registers --poll, the interval of --wait's polling, on fs.
func addPollFlag(fs *flag.FlagSet, e *cliEnv) {
	fs.DurationVar(&e.poll, "poll", defaultPoll, "with --wait, how often to ask the server for progress")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// groupProgress is a group's processing as the server reports it.
type groupProgress struct {
	state       string
	done, total int
}

func (e *cliEnv) groupProgress(ctx context.Context, id string) (groupProgress, error) {
	var g struct {
		LicenseProcessingState struct{ State string } `json:"licenseProcessingState"`
	}
	if err := e.c.get(ctx, "/v1.0/groups/"+url.PathEscape(id), url.Values{"$select": {"licenseProcessingState"}}, &g); err != nil {
		return groupProgress{}, err
	}
	p := groupProgress{state: g.LicenseProcessingState.State}
	if p.state == allot.ProcessingComplete {
		return p, nil
	}
	st, err := e.status(ctx)
	if err != nil {
		return groupProgress{}, err
	}
	for _, sg := range st.Groups {
		if strings.EqualFold(sg.ID, id) {
			p.done, p.total = sg.Done, sg.Total
		}
	}
	return p, nil
}

// statusBody is GET /allot/v1/status.
type statusBody struct {
	QueueDepth          int  `json:"queueDepth"`
	OldestQueuedSeconds int  `json:"oldestQueuedSeconds"`
	Idle                bool `json:"idle"`
	Groups              []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		State       string `json:"state"`
		Done        int    `json:"done"`
		Total       int    `json:"total"`
	} `json:"groups"`
}

func (e *cliEnv) status(ctx context.Context) (*statusBody, error) {
	var st statusBody
	if err := e.c.get(ctx, "/allot/v1/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// count reads @odata.count of a collection without its items.
func (e *cliEnv) count(ctx context.Context, path string) (int, error) {
	var page struct {
		Count int `json:"@odata.count"`
	}
	err := e.c.get(ctx, path, url.Values{"$count": {"true"}, "$top": {"1"}, "$select": {"id"}}, &page)
	return page.Count, err
}

// waitOutcome is how a group's processing ended.
type waitOutcome struct {
	members, withErrors int
}

// waitGroup polls until g is processed, drawing progress on stderr, and
// reports its members and those in error.
func (e *cliEnv) waitGroup(ctx context.Context, g groupRef) (waitOutcome, error) {
	tty := isTerminal(e.stderr)
	poll := e.poll
	if poll <= 0 {
		poll = defaultPoll
	}
	// Without a terminal, a line every ten polls keeps logs of long runs short.
	plainEvery := 10 * poll
	var last groupProgress
	var lastLine time.Time
	drawn := false
	// A bar drawn on the terminal has no newline: an error goes below it.
	endBar := func() {
		if drawn {
			fmt.Fprintln(e.stderr)
		}
	}
	for {
		p, err := e.groupProgress(ctx, g.ID)
		if err != nil {
			endBar()
			return waitOutcome{}, err
		}
		if p.state == allot.ProcessingComplete {
			break
		}
		switch {
		case tty:
			fmt.Fprintf(e.stderr, "\r%s", progressBar(g.Name, p, 30))
			drawn = true
		case p != last && time.Since(lastLine) >= plainEvery || lastLine.IsZero():
			fmt.Fprintf(e.stderr, "allot: %s: %s\n", g.Name, progressText(p))
			lastLine = time.Now()
		}
		last = p
		select {
		case <-ctx.Done():
			endBar()
			return waitOutcome{}, ctx.Err()
		case <-time.After(poll):
		}
	}
	var out waitOutcome
	var err error
	if out.members, err = e.count(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/members/microsoft.graph.user"); err != nil {
		return out, err
	}
	if out.withErrors, err = e.count(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/membersWithLicenseErrors"); err != nil {
		return out, err
	}
	msg := fmt.Sprintf("%s: processed, %d members", g.Name, out.members)
	if out.withErrors > 0 {
		msg += fmt.Sprintf(", %d with license errors (see: allot group errors %s)", out.withErrors, g.ID)
	} else {
		msg += ", no license errors"
	}
	if tty {
		// Clear what is left of the bar before the outcome.
		fmt.Fprintf(e.stderr, "\r\033[K%s\n", msg)
	} else {
		fmt.Fprintf(e.stderr, "allot: %s\n", msg)
	}
	return out, nil
}

func progressText(p groupProgress) string {
	if p.total > 0 {
		return fmt.Sprintf("%s, %d of %d members", p.state, p.done, p.total)
	}
	return p.state
}

// progressBar is one line: the group, a bar of width cells and the count.
func progressBar(name string, p groupProgress, width int) string {
	filled := 0
	if p.total > 0 {
		filled = min(width, p.done*width/p.total)
	}
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	if r := []rune(name); len(r) > 24 {
		name = string(r[:23]) + "…"
	}
	count := "queued"
	if p.total > 0 {
		count = fmt.Sprintf("%d/%d members", p.done, p.total)
	} else if p.state == allot.ProcessingInProgress {
		count = "starting"
	}
	return fmt.Sprintf("%s%s %s %s\033[K", name, strings.Repeat(" ", max(0, 24-len([]rune(name)))), bar, count)
}
