package main

// Local account passwords (vcsim accepts any password for any user): a password given to
// HostLocalAccountManager.CreateUser or UpdateUser is the one Login then accepts for that user
// (InvalidLogin otherwise, as ESXi answers), and the one -username/-password set is replaced
// when that user's changes; UpdateUser of a user that does not exist answers UserNotFound.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

var cfgPasswords = struct {
	sync.Mutex
	byUser map[string]string
}{byUser: map[string]string{}}

func cfgUserExists(id string) bool {
	dir := simulator.Map.UserDirectory()
	if dir == nil {
		return false
	}
	res, ok := dir.RetrieveUserGroups(&types.RetrieveUserGroups{SearchStr: id, ExactMatch: true, FindUsers: true}).(*methods.RetrieveUserGroupsBody)
	return ok && res.Res != nil && len(res.Res.Returnval) > 0
}

// cfgAccounts keeps the passwords CreateUser and UpdateUser set, and checks Login against them.
func cfgAccounts(w http.ResponseWriter, body []byte) bool {
	var req struct {
		Body struct {
			Login struct {
				UserName string `xml:"userName"`
				Password string `xml:"password"`
			} `xml:"Login"`
			Create *struct {
				User struct {
					Id       string  `xml:"id"`
					Password *string `xml:"password"`
				} `xml:"user"`
			} `xml:"CreateUser"`
			Update *struct {
				User struct {
					Id       string  `xml:"id"`
					Password *string `xml:"password"`
				} `xml:"user"`
			} `xml:"UpdateUser"`
			Remove *struct {
				UserName string `xml:"userName"`
			} `xml:"RemoveUser"`
		} `xml:"Body"`
	}
	switch {
	case bytes.Contains(body, []byte("<Login ")) || bytes.Contains(body, []byte("<Login>")):
		if xml.Unmarshal(body, &req) != nil {
			return false
		}
		cfgPasswords.Lock()
		want, known := cfgPasswords.byUser[req.Body.Login.UserName]
		cfgPasswords.Unlock()
		if known && want != req.Body.Login.Password {
			writeFault(w, "Cannot complete login due to an incorrect user name or password.", `<InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault>`)
			return true
		}
	case bytes.Contains(body, []byte("<CreateUser")):
		if xml.Unmarshal(body, &req) != nil || req.Body.Create == nil {
			return false
		}
		user := req.Body.Create.User
		if user.Password != nil && !cfgUserExists(user.Id) {
			cfgSetPassword(user.Id, *user.Password)
		}
	case bytes.Contains(body, []byte("<UpdateUser")):
		if xml.Unmarshal(body, &req) != nil || req.Body.Update == nil {
			return false
		}
		user := req.Body.Update.User
		if !cfgUserExists(user.Id) {
			writeFault(w, fmt.Sprintf("The user '%s' does not exist.", user.Id),
				fmt.Sprintf(`<UserNotFoundFault xmlns="urn:vim25" xsi:type="UserNotFound"><principal>%s</principal><unresolved>false</unresolved></UserNotFoundFault>`, xmlText(user.Id)))
			return true
		}
		if user.Password != nil {
			cfgSetPassword(user.Id, *user.Password)
		}
	case bytes.Contains(body, []byte("<RemoveUser")):
		if xml.Unmarshal(body, &req) == nil && req.Body.Remove != nil {
			cfgPasswords.Lock()
			delete(cfgPasswords.byUser, req.Body.Remove.UserName)
			cfgPasswords.Unlock()
		}
	}
	return false
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func cfgSetPassword(user, password string) {
	cfgPasswords.Lock()
	cfgPasswords.byUser[user] = password
	cfgPasswords.Unlock()
	cfgStore.Lock()
	service := cfgStore.service
	cfgStore.Unlock()
	if service != nil && service.Listen != nil && service.Listen.User != nil && service.Listen.User != simulator.DefaultLogin && service.Listen.User.Username() == user {
		service.Listen.User = url.UserPassword(user, password)
	}
}
