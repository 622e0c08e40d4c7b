package store

// SetPreviewMaxUsers lowers the preview's limit for a test and returns the
// function that restores it.
func SetPreviewMaxUsers(n int) func() {
	old := previewMaxUsers
	previewMaxUsers = n
	return func() { previewMaxUsers = old }
}
