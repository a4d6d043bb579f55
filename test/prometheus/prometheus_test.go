package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestStartScrapesTargetAndSeesChange(t *testing.T) {
	var value atomic.Int64
	value.Store(3)
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE helper_test_value gauge\nhelper_test_value %d\n", value.Load())
	}))
	t.Cleanup(exporter.Close)

	srv := Start(t, exporter.URL+"/metrics")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	got, err := srv.WaitForSample(ctx, "helper_test_value")
	if err != nil {
		t.Fatal(err)
	}
	if got != 3 {
		t.Fatalf("first sample = %v, want 3", got)
	}
	value.Store(7)
	if _, err := srv.WaitForValue(ctx, "helper_test_value", func(v float64) bool { return v == 7 }); err != nil {
		t.Fatal(err)
	}
}

func TestRenderConfig(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		want    string
		wantErr bool
	}{
		{name: "host and port", targets: []string{"127.0.0.1:9100"}, want: `metrics_path: "/metrics"`},
		{name: "url with path", targets: []string{"http://127.0.0.1:9100/custom"}, want: `metrics_path: "/custom"`},
		{name: "https refused", targets: []string{"https://127.0.0.1:9100/"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := renderConfig(tt.targets)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !contains(got, tt.want) {
				t.Fatalf("config lacks %q:\n%s", tt.want, got)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
