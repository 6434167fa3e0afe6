// Command webhook-printer is the demo's webhook receiver: it prints every webhook it gets, with the headers that
// matter, and answers 200. It is a demo tool, not part of the server.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7090", "address to listen on")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			return // a health probe
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var pretty bytes.Buffer
		if json.Indent(&pretty, body, "    ", "  ") != nil {
			pretty.Write(body)
		}
		fmt.Printf("%s  webhook %s  (webhook id %s)\n    %s\n\n", time.Now().Format("15:04:05.000"),
			r.URL.Path, r.Header.Get("X-Plugzapi-Webhook-Id"), pretty.String())
	})
	log.Printf("webhook printer listening on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
