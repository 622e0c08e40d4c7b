package store

import (
	"errors"

	"github.com/allot-dev/allot"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func notFound(id string) error {
	return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// normalize turns driver errors callers can act on into domain errors.
func normalize(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return allot.Errorf(allot.ECONFLICT, "Another object with the same value already exists.")
		}
	}
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		// Another process holds the file's write lock past busy_timeout.
		return errBusy
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return allot.Errorf(allot.ECONFLICT, "Another object with the same value already exists.")
	}
	return err
}
