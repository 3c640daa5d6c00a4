module github.com/iisync/iisync

go 1.26
