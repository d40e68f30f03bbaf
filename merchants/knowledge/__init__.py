"""Store knowledge: policies, FAQs and uploaded documents, split into chunks the assistant retrieves."""
