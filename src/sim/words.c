/*
 * words.c - word lists for simulated mail: given names, family names and
 * ordinary English words. Invented text only; no real mail is quoted.
 */
#include <stddef.h>

#include "sim/internal.h"
#include "util/banned.h"

const char *const sim_first_names[] = {
	"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
	"William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
	"Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa",
	"Anthony", "Betty", "Mark", "Margaret", "Donald", "Sandra", "Steven", "Ashley",
	"Paul", "Kimberly", "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle",
	"Kevin", "Dorothy", "Brian", "Carol", "George", "Amanda", "Edward", "Melissa",
	"Ronald", "Deborah", "Timothy", "Stephanie", "Jason", "Rebecca", "Jeffrey", "Laura",
	"Ryan", "Sharon", "Jacob", "Cynthia", "Gary", "Kathleen", "Nicholas", "Amy",
	"Eric", "Shirley", "Jonathan", "Angela", "Stephen", "Helen", "Larry", "Anna",
	"Justin", "Brenda", "Scott", "Pamela", "Brandon", "Nicole", "Frank", "Ruth",
	"Oleg", "Ingrid", "Pierre", "Chiara", "Hans", "Sofia", "Pedro", "Yuki",
};
const size_t sim_nfirst_names = sizeof(sim_first_names) / sizeof(sim_first_names[0]);

const char *const sim_last_names[] = {
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
	"Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
	"White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
	"Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
	"Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker",
	"Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
	"Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey",
	"Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Novak",
	"Schmidt", "Rossi", "Dubois", "Larsen", "Ivanov", "Tanaka", "Kowalski",
};
const size_t sim_nlast_names = sizeof(sim_last_names) / sizeof(sim_last_names[0]);

const char *const sim_words[] = {
	"account", "action", "advice", "afternoon", "agenda", "agreement", "answer",
	"apartment", "approval", "area", "article", "attachment", "balance", "bank",
	"basket", "benefit", "bill", "board", "book", "branch", "budget", "building",
	"business", "button", "calendar", "call", "camera", "campaign", "card", "care",
	"case", "catalog", "center", "chance", "change", "chapter", "check", "choice",
	"city", "class", "client", "coffee", "colleague", "comment", "company",
	"computer", "conference", "contract", "copy", "cost", "country", "course",
	"customer", "data", "date", "deal", "decision", "delivery", "department",
	"design", "detail", "dinner", "discount", "document", "draft", "driver",
	"edition", "effort", "energy", "engine", "event", "example", "experience",
	"family", "feature", "feedback", "figure", "file", "finance", "flight", "floor",
	"folder", "friend", "future", "garden", "gift", "goal", "group", "guide",
	"health", "history", "holiday", "home", "hotel", "hour", "idea", "image",
	"income", "index", "industry", "invoice", "issue", "item", "job", "journey",
	"key", "kitchen", "language", "letter", "level", "library", "license", "light",
	"list", "loan", "lunch", "machine", "manager", "market", "matter", "meeting",
	"member", "memory", "menu", "message", "method", "minute", "model", "moment",
	"money", "month", "morning", "movie", "music", "network", "news", "note",
	"number", "offer", "office", "option", "order", "owner", "package", "page",
	"paper", "party", "password", "payment", "people", "period", "phone", "photo",
	"picture", "plan", "plant", "player", "point", "policy", "position", "price",
	"printer", "problem", "process", "product", "profile", "program", "project",
	"property", "proposal", "purchase", "quality", "question", "rate", "reason",
	"receipt", "record", "region", "reminder", "report", "request", "result",
	"review", "room", "schedule", "school", "screen", "season", "section",
	"security", "server", "service", "session", "share", "shipment", "shop",
	"signal", "site", "size", "software", "solution", "source", "space", "staff",
	"station", "status", "step", "stock", "store", "story", "student", "subject",
	"summary", "supply", "support", "system", "table", "task", "team", "test",
	"ticket", "time", "topic", "training", "transfer", "travel", "trip", "update",
	"upgrade", "user", "value", "version", "video", "visit", "voice", "wallet",
	"week", "weekend", "window", "winter", "work", "world", "year",
	"bright", "quick", "quiet", "early", "final", "great", "local", "modern",
	"simple", "special", "strong", "total", "useful", "weekly", "annual", "common",
};
const size_t sim_nwords = sizeof(sim_words) / sizeof(sim_words[0]);
